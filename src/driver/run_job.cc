#include "driver/run_job.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "driver/command_template.h"
#include "driver/job_record.h"
#include "driver/joblog.h"
#include "driver/journal.h"
#include "driver/ordered_output.h"
#include "driver/progress.h"
#include "driver/resume.h"
#include "driver/scheduler.h"
#include "driver/staging.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void WriteAll(std::FILE* f, const std::string& data) {
  if (!data.empty()) std::fwrite(data.data(), 1, data.size(), f);
}

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// The per-task files as planned up front.
struct PlannedTask {
  std::vector<std::string> transfer;  // expanded --transferfile paths
  std::vector<std::string> returns;   // expanded --return paths
};

// Every task's plan, kept compactly so that a million tasks stay cheap: a task's input
// values are recomputed from the sources when needed (TaskValues), and per-task file lists
// are stored only when the job has --transferfile or --return.
class TaskPlan {
 public:
  TaskPlan(const RunOptions& o, int64_t total) : o_(o) {
    if (!o.transferfiles.empty() || !o.returns.empty()) files_.resize(static_cast<size_t>(total));
  }
  std::vector<std::string> Values(int64_t seq) const {
    return TaskValues(o_.sources, o_.link, seq - 1);
  }
  PlannedTask& mutable_files(int64_t seq) { return files_[static_cast<size_t>(seq - 1)]; }
  const PlannedTask& Files(int64_t seq) const {
    static const PlannedTask kNone;
    return files_.empty() ? kNone : files_[static_cast<size_t>(seq - 1)];
  }
  int64_t with_files() const { return static_cast<int64_t>(files_.size()); }

 private:
  const RunOptions& o_;
  std::vector<PlannedTask> files_;  // empty: no task has files
};

// The job while it runs: the Scheduler's listener, recording and printing each task.
class Job : public Scheduler::Listener {
 public:
  Job(const RunOptions& o, RunEnv& env, const CommandTemplate& tmpl,
      const TaskPlan& tasks, const std::string& job_id, JobState& state,
      Backend& backend, ResultsDir* results, JoblogWriter* joblog, Progress& progress)
      : o_(o),
        env_(env),
        tmpl_(tmpl),
        tasks_(tasks),
        job_id_(job_id),
        state_(state),
        backend_(backend),
        results_(results),
        joblog_(joblog),
        progress_(progress),
        output_(o.keep_order) {}

  void set_scheduler(Scheduler* s) { sched_ = s; }
  void set_journal(Journal* j) { journal_ = j; }
  void set_first_invocation_number(int64_t n) { first_number_ = n; }
  // Per-invocation names, so that no two invocations of a task (a retry, a speculative
  // duplicate, an attempt of an earlier run still going) ever write the same object: the
  // invocation's number across the job's runs, from the Scheduler's `invocation`.
  std::string InvocationName(int64_t seq, int64_t invocation) const {
    return std::to_string(seq) + "." + std::to_string(first_number_ - 1 + invocation);
  }
  // Where the worker spills a sync result too big for the response.
  std::string ResultUri(int64_t seq, int64_t invocation) const {
    return backend_.store().Uri("jobs/" + job_id_ + "/results/" +
                                InvocationName(seq, invocation) + ".json");
  }
  // The prefix under which the worker stores the invocation's --return files.
  std::string OutputUri(int64_t seq, int64_t invocation) const {
    return backend_.store().Uri("jobs/" + job_id_ + "/out/" + InvocationName(seq, invocation));
  }
  // True when some invocation may have left objects under results/ or out/ that nothing
  // deleted (no answer came, or it came after the job ended): the end-of-run sweep is due.
  bool may_leave_objects() const { return may_leave_objects_; }
  int64_t start_us = 0;

  void OnStart(int64_t seq, int attempt, int slot) override {
    if (journal_) journal_->Dispatch(seq, attempt, false);
    if (o_.json) Emit({{"event", "start"}, {"seq", seq}, {"attempt", attempt}, {"slot", slot}});
  }

  void OnSpeculate(int64_t seq, int attempt, int slot) override {
    may_leave_objects_ = true;  // the loser may answer after the job ended
    if (journal_) journal_->Dispatch(seq, attempt, true);
    if (o_.json) {
      Emit({{"event", "speculate"}, {"seq", seq}, {"attempt", attempt}, {"slot", slot}});
    }
  }

  void OnRetry(const TaskRecord& a) override {
    DeleteObjectsOf(a);
    if (journal_) {
      const Outcome o = a.result.outcome;
      const bool counted = o != Outcome::kThrottled && o != Outcome::kTransport;
      journal_->Retry(a.seq, a.attempt + (counted ? 1 : 0));
    }
    if (o_.json) {
      Emit({{"event", "retry"},
            {"seq", a.seq},
            {"attempt", a.attempt},
            {"outcome", OutcomeName(a.result.outcome)},
            {"exit_code", a.result.exit_code ? json(*a.result.exit_code) : json(nullptr)},
            {"error", a.result.error}});
    }
  }

  // A losing duplicate's (or an abandoned) answer: nothing of it is used, so whatever its
  // worker stored goes.
  void OnDropped(const TaskRecord& a) override { DeleteObjectsOf(a); }

  void OnFinish(const TaskRecord& rec_in) override {
    auto rec = std::make_shared<TaskRecord>(rec_in);
    // The answering invocation's own result object: a late loser writes elsewhere.
    const std::string full_result_uri =
        FetchFullResult(*rec, ResultUri(rec->seq, rec->invocation));
    FinishedTask ft;
    ft.rec = rec.get();
    ft.args = tasks_.Values(rec->seq);
    ft.command = tmpl_.Describe(TaskInputs{rec->seq, rec->slot, ft.args});
    BringBack(*rec, ft);

    // The manifest: outputs inline when small, else in the state dir's output/.
    std::string so, se;
    if (rec->result.stdout_data.size() > kInlineOutputMax) {
      so = state_.dir() + "/output/" + std::to_string(rec->seq) + ".stdout";
      Report(WriteFileAll(so, rec->result.stdout_data));
    }
    if (rec->result.stderr_data.size() > kInlineOutputMax) {
      se = state_.dir() + "/output/" + std::to_string(rec->seq) + ".stderr";
      Report(WriteFileAll(se, rec->result.stderr_data));
    }
    json line = ResultLine(job_id_, ft, so, se);
    // --no-download: the whole result (output over the 6 MB response) stays in the store.
    if (!full_result_uri.empty()) line["result_uri"] = full_result_uri;
    state_.AppendResult(Dump(line));
    if (results_) {
      std::string d = results_->TaskDir(rec->seq);
      json rline = ResultLine(job_id_, ft, so.empty() ? "" : d + "/stdout",
                              se.empty() ? "" : d + "/stderr");
      if (!full_result_uri.empty()) rline["result_uri"] = full_result_uri;
      Report(results_->Write(ft, rline));
    }
    if (joblog_) {
      joblog_->Write(JoblogLine(*rec, backend_.host(),
                                0 /* no stdin is sent */, ft.command));
    }

    std::string warning = Warning(*rec, ft.command);
    json event;
    if (o_.json) {
      event = ResultLine(job_id_, ft, "", "");
      event["event"] = "finish";
    }
    output_.Add(rec->seq, [this, rec, warning, event = std::move(event)] {
      progress_.Clear();
      if (o_.json) {
        Emit(event);
      } else {
        WriteAll(env_.out, rec->result.stdout_data);
        std::fflush(env_.out);
        WriteAll(env_.err, rec->result.stderr_data);
      }
      if (!warning.empty() && !o_.quiet) std::fputs(warning.c_str(), env_.err);
      std::fflush(env_.err);
      progress_.Redraw();
    });
    UpdateProgress();
  }

  void OnHalt(const std::string& why) override {
    halted_ = true;
    if (o_.json) Emit({{"event", "halt"}, {"reason", why}});
    if (!o_.quiet) {
      progress_.Clear();
      std::fprintf(env_.err, "parallelagram: halting (%s, --halt %s): %s\n", why.c_str(),
                   o_.halt.when == HaltPolicy::When::kNow ? "now" : "soon",
                   o_.halt.when == HaltPolicy::When::kNow
                       ? "running tasks are abandoned"
                       : "waiting for running tasks, starting no new ones");
      progress_.Redraw();
    }
  }

  void OnDone() override { env_.loop->Stop(); }

  void Tick() {
    if (sched_ && sched_->done()) return;
    UpdateProgress();
    int64_t every = progress_.mode() == Progress::Mode::kTty ? 100 : 1000;
    env_.loop->After(every, [this] { Tick(); });
  }

  // Polls env.interrupts every 100 ms (driver/interrupts.h has the behaviour).
  void WatchInterrupts() {
    if (!env_.interrupts || !sched_ || sched_->done()) return;
    int sigint = env_.interrupts->sigint_count();
    int sigterm = env_.interrupts->sigterm_count();
    if (sigterm > 0 || sigint >= 2) {
      interrupt_ = sigterm > 0 ? Interrupt::kCancelled : Interrupt::kInterrupted;
      if (sigterm > 0) {
        Say(fmt::format("cancelled: starting no new tasks, abandoning {} running task(s); job {} "
                        "is marked cancelled (the manifest keeps the {} that finished)",
                        sched_->running(), job_id_, sched_->finished()),
            "abandon");
      } else {
        Say(fmt::format("interrupted again: abandoning {} running task(s); the manifest keeps the "
                        "{} that finished",
                        sched_->running(), sched_->finished()),
            "abandon");
      }
      sched_->Abandon();
      return;
    }
    if (sigint == 1 && !sched_->draining()) {
      interrupt_ = Interrupt::kInterrupted;
      Say(fmt::format("interrupted: starting no new tasks; waiting for {} running (Ctrl-C again "
                      "to abandon them)",
                      sched_->running()),
          "drain");
      sched_->Drain();
      if (sched_->done()) return;
    }
    env_.loop->After(100, [this] { WatchInterrupts(); });
  }
  enum class Interrupt { kNone, kInterrupted, kCancelled };
  Interrupt interrupt() const { return interrupt_; }

  void Flush() { output_.Flush(); }
  bool halted() const { return halted_; }
  std::vector<std::string> returned_uris;  // objects to delete (--return copies)

  ProgressCounts Counts() const {
    ProgressCounts c;
    c.total = sched_->total();
    c.running = sched_->running();
    c.succeeded = sched_->succeeded();
    c.failed = sched_->failed();
    c.retried = sched_->retried();
    return c;
  }
  int64_t ElapsedMs() const { return (env_.clock->NowMonoUs() - start_us) / 1000; }

  void Emit(const json& j) {
    std::string s = Dump(j);
    s += '\n';
    WriteAll(env_.out, s);
    std::fflush(env_.out);
  }

 private:

  void Say(const std::string& what, const char* action) {
    if (o_.json) Emit({{"event", "interrupt"}, {"action", action}, {"message", what}});
    progress_.Clear();
    std::fprintf(env_.err, "parallelagram: %s\n", what.c_str());
    std::fflush(env_.err);
    progress_.Redraw();
  }

  void UpdateProgress() {
    if (sched_) progress_.Update(Counts(), ElapsedMs());
  }

  void Report(const Status& s) {
    if (!s.ok() && !o_.quiet) {
      progress_.Clear();
      std::fprintf(env_.err, "parallelagram: %s\n", s.message().c_str());
    }
  }

  // A sync response must fit Lambda's 6 MB limit, so the worker cuts large output there and
  // stores its full result at the event's result_uri (result_spill_only). Only such a cut
  // response costs a store request (one GET, one DELETE): a stream is cut when the response
  // holds less of it than the task kept (what it wrote, at most --max-output); output cut by
  // --max-output alone is complete. With --no-download the full result stays in the store
  // and its URI is returned (for the manifest); "" otherwise.
  bool WasCut(const TaskResult& r) const {
    const uint64_t max_kept = static_cast<uint64_t>(
        o_.max_output_bytes > 0 ? o_.max_output_bytes : int64_t{1} << 30);
    auto cut = [max_kept](const std::string& data, bool truncated, uint64_t bytes) {
      return truncated && data.size() < std::min(bytes, max_kept);
    };
    return cut(r.stdout_data, r.stdout_truncated, r.stdout_bytes) ||
           cut(r.stderr_data, r.stderr_truncated, r.stderr_bytes);
  }

  // Deletes what the answer's invocation stored (its spilled result, its --return files):
  // used for answers that do not finish their task. A transport failure (no answer) cannot
  // say what its worker stored; it arms the end-of-run sweep instead. Async results live in
  // the inbox, which deletes them itself.
  void DeleteObjectsOf(const TaskRecord& a) {
    const TaskResult& r = a.result;
    if (r.outcome == Outcome::kTransport) may_leave_objects_ = true;
    for (const ReturnedFile& f : r.returned) {
      if (!f.missing && !f.uri.empty()) (void)backend_.store().Delete(f.uri);
    }
    if (o_.mode != "async" && a.invocation > 0 && WasCut(r)) {
      (void)backend_.store().Delete(ResultUri(a.seq, a.invocation));
    }
  }

  std::string FetchFullResult(TaskRecord& rec, const std::string& result_uri) {
    TaskResult& r = rec.result;
    if (!WasCut(r)) return "";
    if (o_.no_download) return result_uri;
    std::string tmp = state_.dir() + "/output/.result" + std::to_string(rec.seq);
    Status s = backend_.store().GetFile(result_uri, tmp);
    if (!s.ok()) {
      Report(s.WithContext("task " + std::to_string(rec.seq) +
                           ": its full output (over Lambda's 6 MB response) could not be "
                           "fetched, so it is shown cut"));
      return "";
    }
    {
      std::ifstream f(tmp, std::ios::binary);
      try {
        auto full = TaskResultFromJson(nlohmann::json::parse(f));
        if (full.ok()) {
          r.stdout_data = std::move(full->stdout_data);
          r.stderr_data = std::move(full->stderr_data);
          r.stdout_truncated = full->stdout_truncated;
          r.stderr_truncated = full->stderr_truncated;
        }
      } catch (const std::exception&) {
        Report(Status::ProtocolError("task " + std::to_string(rec.seq) +
                                     ": the stored result is not JSON"));
      }
    }
    std::error_code ec;
    fs::remove(tmp, ec);
    (void)backend_.store().Delete(result_uri);
    return "";
  }

  // --return: copies each returned object to where GNU parallel puts it (relative to the
  // current directory), or under --results DIR/<seq>/. With --no-download the objects stay
  // in the store and the manifest's `dest` is their URI.
  void BringBack(TaskRecord& rec, FinishedTask& ft) {
    for (const ReturnedFile& r : rec.result.returned) {
      if (r.missing || r.uri.empty()) continue;
      if (o_.no_download) {
        ft.returned.emplace_back(r.path, r.uri);
        continue;
      }
      std::string dest = results_ ? results_->TaskDir(rec.seq) + "/" + r.path : r.path;
      Status s = backend_.store().GetFile(r.uri, dest);
      if (s.ok()) {
        ft.returned.emplace_back(r.path, dest);
        (void)backend_.store().Delete(r.uri);
      } else {
        Report(s.WithContext("--return " + r.path + " of task " + std::to_string(rec.seq)));
      }
    }
  }

  std::string Warning(const TaskRecord& rec, const std::string& command) const {
    const TaskResult& r = rec.result;
    std::string what;
    switch (r.outcome) {
      case Outcome::kSucceeded:
      case Outcome::kFailed:
        if (r.exit_code || r.error.empty()) return "";
        what = "could not run: " + r.error;
        break;
      case Outcome::kTimedOut:
        what = "was killed because it timed out";
        break;
      case Outcome::kOutOfMemory:
        what = "ran out of memory (raise --memory)";
        break;
      case Outcome::kCrashed:
        what = r.signal ? fmt::format("was killed by signal {}", *r.signal)
                        : "crashed: " + r.error;
        break;
      default:
        what = std::string(OutcomeName(r.outcome)) + ": " + r.error;
    }
    std::string cmd = command.size() > 200 ? command.substr(0, 200) + "..." : command;
    return fmt::format("parallelagram: task {} {}: {}\n", rec.seq, what, cmd);
  }

  const RunOptions& o_;
  RunEnv& env_;
  const CommandTemplate& tmpl_;
  const TaskPlan& tasks_;
  std::string job_id_;
  JobState& state_;
  Backend& backend_;
  ResultsDir* results_;
  JoblogWriter* joblog_;
  Progress& progress_;
  OrderedOutput output_;
  Scheduler* sched_ = nullptr;
  Journal* journal_ = nullptr;
  bool halted_ = false;
  Interrupt interrupt_ = Interrupt::kNone;
  int64_t first_number_ = 1;
  bool may_leave_objects_ = false;
};

// Resume in async mode: before anything is dispatched, lists the inbox (once) and records the
// results workers wrote meanwhile. Every object "S.N.json" of an unfinished task S is a
// result of S: a success finishes it; a failure does when it is the answer of the latest
// attempt the journal recorded and that attempt was the last one --retries allows (with
// attempts left, the next one runs); other failures are dropped (the task runs again).
// Objects of tasks finished earlier are stale and deleted. Objects are deleted only after
// the manifest lines made from them are durable. Returns the number of tasks finished here.
// A listing error is reported and collects nothing (the tasks then run again).
int64_t CollectInbox(ResultInbox& inbox, Loop& loop, const std::string& job_id,
                     const std::vector<uint8_t>& finished_before, const JournalReplay& replay,
                     int max_attempts, Scheduler& sched, Job& job, JobState& state,
                     Journal& journal, std::FILE* err, bool quiet) {
  const auto total = static_cast<int64_t>(finished_before.size());
  auto seq_of = [&](const std::string& name) -> int64_t {
    int64_t seq = 0, n = 0;
    if (!ParseResultObjectName(name, &seq, &n) || seq < 1 || seq > total) return 0;
    return seq;
  };
  auto unfinished = [&](int64_t seq) {
    return seq > 0 && finished_before[static_cast<size_t>(seq - 1)] == 0;
  };
  bool got = false;
  Result<std::vector<ResultInbox::Item>> items = std::vector<ResultInbox::Item>{};
  inbox.Poll([&](const std::string& n) { return unfinished(seq_of(n)); },
             [&](Result<std::vector<ResultInbox::Item>> r) {
               items = std::move(r);
               got = true;
               loop.Stop();
             });
  if (!got) loop.Run();
  if (!got || !items.ok()) {
    if (!quiet) {
      std::fprintf(err,
                   "parallelagram: could not list the results already written (%s); their "
                   "tasks run again\n",
                   got ? items.status().message().c_str() : "no answer");
    }
    return 0;
  }
  std::vector<std::string> consumed;
  std::map<int64_t, std::vector<const ResultInbox::Item*>> by_seq;
  for (const auto& item : *items) {
    int64_t seq = seq_of(item.name);
    if (seq == 0) continue;
    if (!unfinished(seq)) {
      consumed.push_back(item.name);  // stale: the task finished before
    } else if (item.read) {
      by_seq[seq].push_back(&item);
    }
  }
  int64_t collected = 0;
  for (const auto& [seq, objs] : by_seq) {
    auto jt = replay.tasks.find(seq);
    const JournalReplay::Task none;
    const JournalReplay::Task& t = jt == replay.tasks.end() ? none : jt->second;
    const std::string latest = t.objects.empty() ? "" : t.objects.back();
    std::optional<TaskResult> chosen;
    for (const ResultInbox::Item* item : objs) {
      consumed.push_back(item->name);
      nlohmann::json j = nlohmann::json::parse(item->body, nullptr, false);
      if (j.is_discarded()) continue;
      auto r = TaskResultFromJson(j);
      if (!r.ok()) continue;
      if (r->outcome == Outcome::kSucceeded || (item->name == latest && !chosen)) {
        chosen = std::move(r).value();
      }
    }
    if (!chosen) continue;
    const int attempt = std::max(1, t.attempt);
    if (chosen->outcome != Outcome::kSucceeded && attempt < max_attempts) {
      sched.RestoreTask(seq, attempt + 1, t.answered + 1);
      continue;
    }
    TaskRecord rec;
    rec.seq = seq;
    rec.slot = 1;
    rec.attempt = attempt;
    rec.invocations = t.answered + 1;
    rec.result = std::move(*chosen);
    rec.result.task_id = job_id + "/" + std::to_string(seq);
    sched.SkipFinished(seq, rec.result.outcome == Outcome::kSucceeded);
    job.OnFinish(rec);
    ++collected;
  }
  state.Flush();
  journal.Flush();
  inbox.Remove(std::move(consumed));
  return collected;
}

// Lambda's payload limits (lambda-facts.md): RequestResponse 6 MB, Event 1 MB.
constexpr size_t kSyncPayloadLimit = 6 * 1024 * 1024;
constexpr size_t kEventPayloadLimit = 1024 * 1024;

// Without --progress, plain progress lines (stderr not a terminal) come this often.
constexpr int64_t kQuietLineIntervalMs = 5000;

// The command's program as written: its first word (with --shell, the first word of the
// command line when it is a plain word).
std::string ProgramOf(const RunOptions& o) {
  if (o.command.empty()) return "";
  if (!o.shell) return o.command[0];
  const std::string& line = o.command[0];
  size_t end = line.find_first_of(" \t\n;|&<>()$`'\"\\");
  return line.substr(0, end);
}

// Deletes every object left under the job's results/ and out/ prefixes (sync mode, after
// the run used what it needed). Errors are ignored: the objects are only garbage.
void SweepJobObjects(ObjectStore& store, const std::string& job_id) {
  for (const char* sub : {"/results/", "/out/"}) {
    auto objs = store.List("jobs/" + job_id + sub);
    if (!objs.ok()) continue;
    for (const StoredObject& obj : *objs) (void)store.Delete(store.Uri(obj.key));
  }
}

int Usage(RunEnv& env, const Status& s) {
  std::fprintf(env.err, "parallelagram run: %s\n", s.message().c_str());
  return kExitUsage;
}

}  // namespace

int RunJob(const RunOptions& o, RunEnv& env) {
  const int num_sources = static_cast<int>(o.sources.size());
  auto tmpl_r = CommandTemplate::Parse(o.command, num_sources, o.shell);
  if (!tmpl_r.ok()) return Usage(env, tmpl_r.status());
  const CommandTemplate& tmpl = *tmpl_r;
  const int jobs = o.jobs > 0 ? o.jobs : std::max(1, env.default_jobs);
  const int64_t total = CountTasks(o.sources, o.link);

  // Plan every task; check per-task files before anything starts.
  TaskPlan tasks(o, total);
  for (int64_t i = 0; i < tasks.with_files(); ++i) {
    PlannedTask& t = tasks.mutable_files(i + 1);
    TaskInputs in{i + 1, 1, tasks.Values(i + 1)};
    for (const auto& tf : o.transferfiles) {
      auto p = ExpandPath(tf, in, num_sources);
      if (!p.ok()) return Usage(env, p.status().WithContext("--transferfile"));
      if (IsS3Uri(*p)) {  // already in S3: used in place (staging.h)
        if (auto sp = S3InputPath(*p); !sp.ok()) return Usage(env, sp.status());
        t.transfer.push_back(*p);
        continue;
      }
      auto rel = NormaliseRelative(*p, "--transferfile");
      if (!rel.ok()) return Usage(env, rel.status());
      std::error_code ec;
      if (!fs::is_regular_file(*rel, ec)) {
        return Usage(env, Status::NotFound("input file '" + *p + "' (--transferfile " + tf +
                                           ", task " + std::to_string(i + 1) +
                                           ") does not exist; nothing was started"));
      }
      t.transfer.push_back(*rel);
    }
    for (const auto& rf : o.returns) {
      auto p = ExpandPath(rf, in, num_sources);
      if (!p.ok()) return Usage(env, p.status().WithContext("--return"));
      auto rel = NormaliseRelative(*p, "--return");
      if (!rel.ok()) return Usage(env, rel.status());
      t.returns.push_back(*rel);
    }
  }
  for (const auto& b : o.basefiles) {
    auto rel = NormaliseRelative(b, "--basefile");
    if (!rel.ok()) return Usage(env, rel.status());
    std::error_code ec;
    if (!fs::exists(*rel, ec)) {
      return Usage(env, Status::NotFound("--basefile '" + b + "' does not exist; nothing was started"));
    }
  }

  if (o.dry_run) {
    for (int64_t i = 0; i < total; ++i) {
      TaskInputs in{i + 1, static_cast<int>(i % jobs) + 1, tasks.Values(i + 1)};
      if (o.json) {
        json j = {{"event", "task"}, {"seq", i + 1}, {"args", in.values},
                  {"command", tmpl.Describe(in)}, {"shell", o.shell}};
        j["argv"] = tmpl.Expand(in);
        std::string s = Dump(j) + "\n";
        WriteAll(env.out, s);
      } else {
        std::string s = tmpl.Describe(in) + "\n";
        WriteAll(env.out, s);
      }
    }
    std::fflush(env.out);
    return 0;
  }

  // State directory, joblog, results.
  auto root = ResolveStateRoot(o.state_dir);
  if (!root.ok()) return Usage(env, root.status());
  // A resume (o.resume, prepared by PrepareResume) reopens the job and appends to its files.
  const bool resuming = !o.resume.empty();
  std::string job_id = resuming || !o.job_id.empty() ? o.job_id : NewJobId();
  JobState state;
  if (Status s = resuming ? state.Open(*root, job_id) : state.Create(*root, job_id); !s.ok()) {
    return Usage(env, s);
  }
  JoblogWriter joblog;
  if (!o.joblog.empty()) {
    if (Status s = joblog.Open(o.joblog, resuming); !s.ok()) return Usage(env, s);
  }
  std::unique_ptr<ResultsDir> results;
  if (!o.results_dir.empty()) {
    results = std::make_unique<ResultsDir>();
    if (Status s = results->Open(o.results_dir, resuming); !s.ok()) return Usage(env, s);
  }

  json info = {{"job_id", job_id},
               {"created_at", NowIso()},
               {"status", "starting"},
               {"pid", static_cast<int>(::getpid())},
               {"cwd", fs::current_path().string()},
               {"command", o.command},
               {"shell", o.shell},
               {"command_line", env.argv_line},
               {"backend", o.backend},
               {"jobs", jobs},
               {"total", total},
               {"sources", num_sources},
               {"link", o.link},
               {"retries", o.retries},
               {"timeout_s", o.timeout_s},
               {"results_dir", o.results_dir},
               {"joblog", o.joblog}};
  info["mode"] = o.mode;
  if (!o.config.empty()) info["config"] = fs::absolute(o.config).string();
  info["option_args"] = o.option_args;
  info["runs"] = 1;
  if (resuming) {  // keep what the first run recorded
    auto prev = ReadJob(*root, job_id);
    if (!prev.ok()) return Usage(env, prev.status());
    json fresh = info;
    info = prev->info;
    info["pid"] = fresh["pid"];
    info["status"] = "starting";
    info["runs"] = info.value("runs", 1) + 1;
    info["resumed_at"] = NowIso();
    for (const char* k : {"finished_at", "succeeded", "failed", "not_run", "exit_status",
                          "elapsed_s", "function"}) {
      info.erase(k);
    }
  } else if (Status s = WriteRecordedInputs(state.dir(), o.sources); !s.ok()) {
    return Usage(env, s);
  }
  const int run = info.value("runs", 1);
  if (Status s = state.WriteJobInfo(info); !s.ok()) return Usage(env, s);
  Status wrote = state.WriteTasks(total, [&](int64_t seq) {
    TaskInputs in{seq, 1, tasks.Values(seq)};
    return Dump({{"seq", seq}, {"args", in.values}, {"command", tmpl.Describe(in)}});
  });
  if (!wrote.ok()) return Usage(env, wrote);

  // The journal, and on resume what it and the manifest say: tasks with a durable result are
  // not run again; unfinished ones continue from the attempt they reached.
  Journal journal;
  if (Status s = journal.Open(state.dir() + "/journal.jsonl"); !s.ok()) return Usage(env, s);
  journal.Run(run, static_cast<int>(::getpid()), resuming);
  std::vector<uint8_t> finished_before;
  JournalReplay replay;
  if (resuming) {
    auto fin = ReadFinishedTasks(state.dir(), total);
    if (!fin.ok()) return Usage(env, fin.status());
    finished_before = std::move(fin).value();
    auto rep = ReplayJournal(state.dir() + "/journal.jsonl", [&](int64_t seq) {
      return seq >= 1 && seq <= total && finished_before[static_cast<size_t>(seq - 1)] == 0;
    });
    if (!rep.ok()) return Usage(env, rep.status());
    replay = std::move(rep).value();
  }

  // Backend and staging.
  BackendConfig cfg;
  cfg.concurrency = jobs;
  cfg.memory_mb = o.memory_mb;
  cfg.function_timeout_s = o.timeout_s > 0 ? std::min<int64_t>(900, static_cast<int64_t>(o.timeout_s) + 5) : 900;
  cfg.state_root = *root;
  cfg.job_id = job_id;
  cfg.async = o.mode == "async";
  cfg.function_name = o.function_name;
  cfg.bucket = o.bucket;
  cfg.deployment_config = o.config;
  // Result object numbers never repeat across the runs of a job (a run makes < 1e9 invokes).
  cfg.first_result_number = static_cast<int64_t>(run - 1) * 1000000000 + 1;
  cfg.on_result_named = [&journal](const std::string&, const std::string& name) {
    int64_t seq = 0, n = 0;
    if (ParseResultObjectName(name, &seq, &n)) journal.ResultObject(seq, name);
  };
  Progress* live_progress = nullptr;  // set once the progress display exists
  cfg.on_result_poll_error = [&env, &live_progress](const std::string& why) {
    if (live_progress) live_progress->Clear();
    std::fprintf(env.err,
                 "parallelagram: warning: cannot list the async results (%s); still trying every "
                 "poll, and a task whose result stays unreadable ends as crashed at its deadline "
                 "plus 120 s: check the bucket and the credentials' s3:ListBucket permission\n",
                 why.c_str());
    std::fflush(env.err);
    if (live_progress) live_progress->Redraw();
  };
  cfg.before_result_remove = [&state, &journal] {
    state.Flush();
    journal.Flush();
  };
  auto backend_r = env.backend(cfg);
  if (!backend_r.ok()) {
    info["status"] = "failed";
    (void)state.WriteJobInfo(info);
    return Usage(env, backend_r.status());
  }
  Backend& backend = **backend_r;
  if (!backend.function_name().empty()) {
    info["function"] = backend.function_name();  // for `parallelagram cancel`
    (void)state.WriteJobInfo(info);
  }
  if (!o.quiet && !backend.description().empty()) {
    std::fprintf(env.err, "parallelagram: %s\n", backend.description().c_str());
  }
  int in_flight = jobs;
  if (backend.max_in_flight() > 0 && backend.max_in_flight() < jobs) {
    in_flight = backend.max_in_flight();
    if (!o.quiet) {
      std::fprintf(env.err,
                   "parallelagram: running at most %d tasks at a time (-j %d): the function's "
                   "reserved concurrency is %d\n",
                   in_flight, jobs, in_flight);
    }
  }
  StagingOptions staging_opts = backend.staging_options();
  if (staging_opts.bundle) {
    staging_opts.bundle_exes = o.bundle_exes;
    staging_opts.program = ProgramOf(o);
    staging_opts.work_dir = state.dir() + "/bundle";
  }
  Staging staging(backend.store(), staging_opts);
  Status st = staging.AddBasefiles(o.basefiles);
  for (int64_t i = 1; st.ok() && i <= tasks.with_files(); ++i) {
    for (const auto& p : tasks.Files(i).transfer) {
      st = staging.AddTransferFile(p);
      if (!st.ok()) break;
    }
  }
  if (st.ok()) st = staging.Commit();
  if (!st.ok()) {
    info["status"] = "failed";
    (void)state.WriteJobInfo(info);
    return Usage(env, st);
  }
  if (staging_opts.report && !o.quiet && !staging.SummaryLine().empty()) {
    std::fprintf(env.err, "parallelagram: %s\n", staging.SummaryLine().c_str());
  }

  // A live status line on a terminal; otherwise plain lines, every second with --progress,
  // else every kQuietLineIntervalMs (so short jobs print none).
  Progress::Mode mode = Progress::Mode::kOff;
  if (!o.quiet) mode = env.err_is_tty ? Progress::Mode::kTty : Progress::Mode::kLines;
  Progress progress(mode, env.err, o.progress ? 1000 : kQuietLineIntervalMs, o.progress);
  live_progress = &progress;

  Job job(o, env, tmpl, tasks, job_id, state, backend, results.get(),
          joblog.is_open() ? &joblog : nullptr, progress);
  const int64_t timeout_ms = static_cast<int64_t>(o.timeout_s * 1000);
  const int64_t max_output =
      o.max_output_bytes > 0 ? o.max_output_bytes : int64_t{1} << 30;
  std::set<std::string> spilled_events;
  job.set_first_invocation_number(cfg.first_result_number);
  auto build = [&](int64_t seq, int slot, int64_t invocation) -> Result<TaskEvent> {
    const PlannedTask& t = tasks.Files(seq);
    TaskEvent e;
    e.task_id = job_id + "/" + std::to_string(seq);
    e.argv = tmpl.Expand(TaskInputs{seq, slot, tasks.Values(seq)});
    e.shell = o.shell;
    e.timeout_ms = timeout_ms;
    e.max_output_bytes = max_output;
    e.files = staging.FilesFor(t.transfer);
    e.returns = t.returns;
    e.output_uri = job.OutputUri(seq, invocation);
    e.result_uri = job.ResultUri(seq, invocation);
    e.result_spill_only = true;  // sync mode; the async invoker names its own result objects
    // Lambda's payload limits (6 MB sync, 1 MB Event): a bigger event (huge arguments or
    // file lists) is stored and fetched by the worker.
    const size_t limit = o.mode == "async" ? kEventPayloadLimit : kSyncPayloadLimit;
    std::string body = Dump(TaskEventToJson(e));
    if (body.size() + 4096 <= limit) return e;  // headroom for the invoker's own fields
    std::string tmp = state.dir() + "/output/.event" + std::to_string(seq);
    PG_RETURN_IF_ERROR(WriteFileAll(tmp, body));
    auto uri = backend.store().PutFile(
        "jobs/" + job_id + "/events/" + job.InvocationName(seq, invocation) + ".json", tmp);
    std::error_code ec;
    fs::remove(tmp, ec);
    if (!uri.ok()) return uri.status().WithContext("storing task " + std::to_string(seq) + "'s oversized event");
    spilled_events.insert(*uri);
    TaskEvent small;
    small.task_id = e.task_id;
    small.timeout_ms = e.timeout_ms;
    small.result_uri = e.result_uri;
    small.result_spill_only = e.result_spill_only;
    small.event_uri = *uri;
    return small;
  };
  Scheduler::Options so;
  so.jobs = in_flight;
  so.max_attempts = o.retries;
  so.halt = o.halt;
  so.speculate = o.speculate;
  Scheduler sched(so, total, build, backend.invoker(), *env.loop, *env.clock, job);
  job.set_scheduler(&sched);
  job.set_journal(&journal);
  job.start_us = env.clock->NowMonoUs();
  if (resuming) {
    int64_t done_before = 0;
    for (int64_t seq = 1; seq <= total; ++seq) {
      uint8_t f = finished_before[static_cast<size_t>(seq - 1)];
      if (f != 0) {
        sched.SkipFinished(seq, f == 1);
        ++done_before;
      }
    }
    // An attempt in flight at the interruption left no answer: it runs again as itself, and
    // only answered invocations count.
    for (const auto& [seq, t] : replay.tasks) sched.RestoreTask(seq, t.attempt, t.answered);
    int64_t collected = 0;
    if (backend.inbox()) {
      collected = CollectInbox(*backend.inbox(), *env.loop, job_id, finished_before, replay,
                               o.retries, sched, job, state, journal, env.err, o.quiet);
    }
    if (!o.quiet) {
      std::string c = backend.inbox() ? fmt::format(", {} collected from results workers wrote meanwhile", collected) : "";
      std::fprintf(env.err,
                   "parallelagram: resuming job %s (run %d): %lld of %lld tasks already done%s; "
                   "%lld to run\n",
                   job_id.c_str(), run, static_cast<long long>(done_before), static_cast<long long>(total),
                   c.c_str(), static_cast<long long>(total - done_before - collected));
    }
  }

  info["status"] = "running";
  (void)state.WriteJobInfo(info);
  if (o.json) {
    job.Emit({{"event", "job"}, {"job_id", job_id}, {"total", total}, {"jobs", jobs},
              {"state_dir", state.dir()}});
  }
  sched.Start();
  // Durable within ~100 ms: buffered manifest and journal lines are written on a timer too,
  // not only when the next line comes.
  std::function<void()> flush_tick = [&] {
    state.Flush();
    journal.Flush();
    if (!sched.done()) env.loop->After(Journal::kFlushMs, flush_tick);
  };
  if (!sched.done()) {
    env.loop->After(Journal::kFlushMs, flush_tick);
    job.Tick();
    job.WatchInterrupts();
    env.loop->Run();
  }
  job.Flush();
  state.Flush();
  progress.Finish(job.Counts(), job.ElapsedMs());

  if (o.cleanup) {
    for (const auto& uri : staging.TransferUris()) (void)backend.store().Delete(uri);
  }
  for (const auto& uri : spilled_events) (void)backend.store().Delete(uri);
  // Sync mode: every result and returned file the driver used is fetched and deleted as it
  // comes, and so is every dropped answer's; what an invocation without an answer (transport
  // failure, a loser still running, an earlier run's attempt in flight at its interruption)
  // stored is swept here. Objects a still-running loser writes after this are left.
  const bool sweep = o.mode != "async" && !o.no_download &&
                     (resuming || job.may_leave_objects() || job.halted() ||
                      job.interrupt() != Job::Interrupt::kNone);
  if (sweep) SweepJobObjects(backend.store(), job_id);
  const int64_t failed = sched.failed();
  const int64_t not_run = total - sched.finished();
  int exit_status = static_cast<int>(std::min<int64_t>(failed, 101));
  info["status"] = job.halted() ? "halted" : "finished";
  if (job.interrupt() == Job::Interrupt::kInterrupted) {
    info["status"] = "interrupted";
    exit_status = kExitInterrupted;
  } else if (job.interrupt() == Job::Interrupt::kCancelled) {
    info["status"] = "cancelled";
    exit_status = kExitTerminated;
  }
  info["finished_at"] = NowIso();
  info["succeeded"] = sched.succeeded();
  info["failed"] = failed;
  info["not_run"] = not_run;
  info["exit_status"] = exit_status;
  info["elapsed_s"] = static_cast<double>(job.ElapsedMs()) / 1000.0;
  state.Sync();
  journal.End(info["status"].get<std::string>());
  journal.Sync();
  (void)state.WriteJobInfo(info);
  if (o.json) {
    job.Emit({{"event", "done"}, {"job_id", job_id}, {"succeeded", sched.succeeded()},
              {"failed", failed}, {"not_run", not_run}, {"exit_status", exit_status},
              {"elapsed_s", static_cast<double>(job.ElapsedMs()) / 1000.0}});
  }
  return exit_status;
}

}  // namespace parallelagram::driver
