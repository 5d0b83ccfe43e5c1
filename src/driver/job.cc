#include "driver/job.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "driver/arg_shaping.h"
#include "driver/collect_inbox.h"
#include "driver/command_template.h"
#include "driver/cost_meter.h"
#include "driver/job_info.h"
#include "driver/job_record.h"
#include "driver/joblog.h"
#include "driver/journal.h"
#include "driver/live_tail.h"
#include "driver/output_paths.h"
#include "driver/result_retrieval.h"
#include "driver/resume.h"
#include "driver/scheduler.h"
#include "driver/staging.h"
#include "driver/state_dir.h"
#include "driver/task_env.h"
#include "driver/task_events.h"
#include "driver/task_plan.h"
#include "driver/task_recorder.h"

namespace parallelagram::driver {

using json = nlohmann::json;

namespace {

// The command's program as written: its first word (with --shell, the first word of the
// command line when it is a plain word).
std::string ProgramOf(const RunOptions& opts) {
  if (opts.command.empty()) return "";
  if (!opts.shell) return opts.command[0];
  const std::string& line = opts.command[0];
  size_t end = line.find_first_of(" \t\n;|&<>()$`'\"\\");
  return line.substr(0, end);
}

}  // namespace

// ---- SubmitQueue ----

Result<int64_t> SubmitQueue::Submit(std::vector<std::string> values) {
  return Add(SourcedTask{std::move(values), nullptr}, {});
}

Result<int64_t> SubmitQueue::SubmitSpec(TaskSpec spec,
                                        const std::function<void(int64_t)>& on_numbered) {
  SourcedTask t;
  t.values = {spec.describe};
  t.spec = std::make_shared<const TaskSpec>(std::move(spec));
  return Add(std::move(t), on_numbered);
}

Result<int64_t> SubmitQueue::Add(SourcedTask t, const std::function<void(int64_t)>& on_numbered) {
  std::function<void()> wake;
  int64_t seq = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::InvalidArgument("the job takes no more tasks: Submit after Close");
    queue_.push_back(std::move(t));
    seq = ++submitted_;
    if (on_numbered) on_numbered(seq);
    if (waiting_) {
      waiting_ = false;
      wake = wake_;
    }
  }
  if (wake) wake();
  return seq;
}

void SubmitQueue::Close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    if (waiting_) {
      waiting_ = false;
      wake = wake_;
    }
  }
  if (wake) wake();
}

TaskSource::Next SubmitQueue::Pull(SourcedTask* task) {
  std::lock_guard<std::mutex> l(mu_);
  if (head_ < queue_.size()) {
    *task = std::move(queue_[head_++]);
    if (head_ == queue_.size()) {  // everything pulled: drop the husks
      queue_.clear();
      head_ = 0;
    }
    return Next::kTask;
  }
  if (closed_) return Next::kEnd;
  waiting_ = true;
  return Next::kWait;
}

void SubmitQueue::SetWake(std::function<void()> wake) {
  std::lock_guard<std::mutex> l(mu_);
  wake_ = std::move(wake);
}

// ---- Job ----

struct Job::Impl : Scheduler::Listener, AsyncObserver {
  Impl(RunOptions s, std::unique_ptr<TaskSource> src, JobContext c)
      : spec(std::move(s)), source(std::move(src)), ctx(std::move(c)), observer(*ctx.observer) {}
  // The source first: a streamed input's reader thread records into `inputs`.
  ~Impl() override { source.reset(); }

  // A task pulled and not finished yet.
  struct LiveTask {
    std::vector<std::string> values;
    std::shared_ptr<const TaskSpec> spec;  // a task described whole (SubmitQueue::SubmitSpec)
    PlannedTask files;
    Status planned;  // a bad --transferfile/--return: the task ends as staging_error
  };

  RunOptions spec;
  std::unique_ptr<TaskSource> source;
  std::string input_error;  // the source's read error (the job then exits non-zero)
  JobContext ctx;
  JobObserver& observer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  // 1. Open
  std::unique_ptr<CommandTemplate> tmpl;  // null when every task comes with its TaskSpec
  ArgShaping shaping;                     // how inputs became tasks (arg_shaping.h)
  // A resume's task values by seq-1, when shaped (computed when first needed).
  std::vector<std::vector<std::string>> shaped_tasks;
  std::vector<std::string> ValuesOf(int64_t seq) {
    if (!shaping.active) return TaskValues(spec.sources, spec.link, seq - 1);
    if (shaped_tasks.empty()) {
      auto all = AllTaskValues(spec.sources, spec.link, shaping);
      if (all.ok()) shaped_tasks = std::move(all).value();
    }
    const auto i = static_cast<size_t>(seq - 1);
    return i < shaped_tasks.size() ? shaped_tasks[i] : std::vector<std::string>{};
  }
  FileTemplates file_templates;
  std::vector<PlannedTask> planned;  // per seq-1, for inputs known up front
  int jobs = 1;
  std::string root, job_id;
  bool resuming = false;
  int run = 1;
  JobState state;
  std::unique_ptr<NewJobGuard> made;
  JoblogWriter joblog;
  std::unique_ptr<ResultsDir> results;
  InputRecorder inputs;
  Journal journal;
  json info;
  std::vector<uint8_t> finished_before;  // resume: per seq-1, 0 / 1 succeeded / 2 failed
  JournalReplay replay;
  PriceTable prices;
  std::map<std::string, std::string> task_env;  // --env
  std::unique_ptr<CommandTemplate> tag_tmpl;    // --tagstring
  // --line-buffer / -u on the local backend: each attempt's output read as it comes (null
  // otherwise), and each such task's tag.
  std::unique_ptr<LiveTail> live_tail;
  std::unordered_map<int64_t, std::string> live_tags;
  std::string newest_args;  // the inputs of the task started last (--bar)
  double spent_before = 0;  // resume: what the earlier runs spent
  // 2. Start
  BackendConfig config;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Staging> staging;
  std::unique_ptr<ResultRetrieval> retrieval;
  std::unique_ptr<TaskRecorder> recorder;
  std::unique_ptr<TaskEventBuilder> builder;
  std::unique_ptr<Scheduler> sched;
  std::unique_ptr<CostMeter> meter;
  int in_flight = 1;
  // 3. Execute
  std::unordered_map<int64_t, LiveTask> live;
  int64_t pulled = 0;  // tasks numbered so far ({#})
  int64_t start_us = 0;
  std::unordered_map<int64_t, double> task_cost;  // per unfinished task: its invocations so far
  bool halted = false;
  bool budget_stopped = false;
  int64_t ticks = 0;
  double cost_written = -1;  // the cost_usd in job.json
  Interruption interrupt = Interruption::kNone;

  Status Open();
  Status Start();
  void Execute();
  int Finish();
  int Fail(const Status& s) {
    observer.SetupFailed(s);
    observer.JobEnded(RunTotals{}, kExitUsage);
    return kExitUsage;
  }
  int64_t ElapsedMs() const { return (ctx.clock->NowMonoUs() - start_us) / 1000; }
  // The manifest's "command" of a task.
  std::string Describe(const TaskInputs& in, const TaskSpec* t) const {
    return t ? t->describe : tmpl ? tmpl->Describe(in) : std::string();
  }
  ProgressCounts Counts() const;
  // The task's --tag / --tagstring text and its TAB ("" none: TagLines).
  std::string TagOf(const TaskInputs& in) const {
    std::string tag;
    if (tag_tmpl) {
      auto words = tag_tmpl->Expand(in);
      if (!words.empty()) tag = words[0];
    } else if (spec.tag) {
      for (size_t i = 0; i < in.values.size(); ++i) tag += (i ? " " : "") + in.values[i];
    } else {
      return tag;
    }
    return tag + '\t';
  }
  // An attempt of `seq` answered: the rest of its live output, and its tail closed.
  void EndLiveOutput(int64_t seq) {
    if (live_tail) live_tail->Close(seq);
  }
  void CollectAsyncResults();
  // A finished task is brought back at once and recorded with the others that finished in
  // the same pass of the loop (RecordFinished, on a zero-delay timer): one write(2) of the
  // manifest for all of them. At most the tasks that were in flight wait there, and no new
  // task starts until they are written.
  struct Finished {
    std::shared_ptr<TaskRecord> rec;
    FinishedTask ft;
    std::string full_result_uri;
  };
  std::vector<Finished> finished;
  bool record_scheduled = false;
  // `stdin_bytes`: the task's stdin (--pipe: its block), --joblog's Send.
  void Record(std::shared_ptr<TaskRecord> rec, std::vector<std::string> values,
              const TaskSpec* spec = nullptr, int64_t stdin_bytes = 0);
  void RecordFinished();
  // Runs `fn` after `ms` on the loop, unless the job is gone by then.
  void Later(int64_t ms, void (Impl::*fn)());
  void FlushTick();
  void Tick();
  void PollLiveOutput();
  void WatchStop();

  // Scheduler::Listener
  Pull PullTask(int64_t* seq) override;
  void OnStart(int64_t seq, int attempt, int slot) override {
    if (auto it = live.find(seq); it != live.end()) {
      newest_args.clear();
      for (const std::string& v : it->second.values) {
        newest_args += (newest_args.empty() ? "" : " ") + v;
      }
    }
    journal.AttemptStarted(seq, attempt, false);
    observer.TaskStarted(seq, attempt, slot, false);
  }
  void OnSpeculate(int64_t seq, int attempt, int slot) override {
    retrieval->NoteDuplicate();  // the loser may answer after the job ended
    journal.AttemptStarted(seq, attempt, true);
    observer.TaskStarted(seq, attempt, slot, true);
  }
  void OnRetry(const TaskRecord& a) override;
  void OnDropped(const TaskRecord& a) override {
    EndLiveOutput(a.seq);
    JournalAttempt(a, ChargeFor(a));
    retrieval->DeleteObjectsOf(a);
  }
  void OnBudgetStop() override { budget_stopped = true; }
  // Counts one answered invocation's cost (the job's, and its task's while it runs).
  Charge ChargeFor(const TaskRecord& a) {
    meter->SetDriverRequests(backend->s3_requests());
    Charge c = meter->Add(a);
    if (c.usd > 0 && live.count(a.seq) != 0) task_cost[a.seq] += c.usd;
    return c;
  }
  void OnFinish(const TaskRecord& rec) override;
  // The journal's "a" line for an answered invocation (the report's per-attempt data).
  void JournalAttempt(const TaskRecord& a, const Charge& c) {
    Journal::AttemptEnd e;
    e.seq = a.seq;
    e.attempt = a.attempt;
    e.duplicate = a.duplicate;
    e.start_ms = a.start_epoch_ms;
    e.end_ms = a.start_epoch_ms + a.runtime_ms;
    e.outcome = OutcomeName(a.result.outcome);
    e.env = a.result.env_id;
    e.cold = a.result.cold;
    e.exit_code = a.result.exit_code;
    e.billed_ms = c.billed_ms;
    e.memory_mb = c.memory_mb;
    e.init_ms = c.init_ms;
    e.cost_usd = c.usd;
    e.estimate = c.estimate;
    journal.AttemptEnded(e);
  }
  void OnHalt(const std::string& why) override {
    halted = true;
    observer.Halting(why);
  }
  void OnDone() override { ctx.loop->Stop(); }

  // AsyncObserver
  void ResultNamed(const std::string&, const std::string& name) override {
    int64_t seq = 0, n = 0;
    if (ParseResultObjectName(name, &seq, &n)) journal.ResultObject(seq, name);
  }
  void BeforeResultRemove() override {
    RecordFinished();
    state.Flush();
    journal.Flush();
  }
  void ResultPollError(const std::string& why) override {
    observer.Notice(
        "warning: cannot list the async results (" + why +
        "); still trying every poll, and a task whose result stays unreadable ends as crashed "
        "at its deadline plus 120 s: check the bucket and the credentials' s3:ListBucket "
        "permission");
  }
};

// 1. The job's state: created, or reopened for a resume.
Status Job::Impl::Open() {
  const int num_sources = std::max<int>(1, static_cast<int>(spec.sources.size()));
  const int positions = spec.sources.empty() ? num_sources : PositionLimit(spec);
  jobs = spec.jobs > 0 ? spec.jobs : std::max(1, ctx.default_jobs);
  if (!spec.command.empty() || !spec.sources.empty()) {  // else: tasks bring their TaskSpec
    auto t = CommandTemplate::Parse(spec.command, positions, spec.shell);
    if (!t.ok()) return t.status();
    tmpl = std::make_unique<CommandTemplate>(std::move(t).value());
    tmpl->set_arg_mode(ArgModeOf(spec));
    tmpl->set_append_inputs(!spec.pipe);
    shaping = ShapingOf(spec, jobs, tmpl.get());  // as RunJob's InputFeed shapes the inputs
  }
  if (!spec.tagstring.empty()) {  // one word: its expansion, whatever Expand appends after it
    auto t = CommandTemplate::Parse({spec.tagstring}, positions, false);
    if (!t.ok()) return t.status().WithContext("--tagstring");
    tag_tmpl = std::make_unique<CommandTemplate>(std::move(t).value());
  }
  file_templates = FileTemplates{spec.transferfiles, spec.returns, positions};
  // Inputs known up front: every task's files planned (and checked) once, before anything is
  // created; a streamed task's are planned when it arrives (PullTask).
  if (source->known_total() >= 0 && !spec.sources.empty()) {
    PG_ASSIGN_OR_RETURN(planned, PlanAllTasks(file_templates, spec.sources, spec.link, shaping));
  }
  PG_RETURN_IF_ERROR(CheckBasefiles(spec.basefiles));
  PG_ASSIGN_OR_RETURN(prices, ResolvePrices(spec.prices));
  PG_ASSIGN_OR_RETURN(task_env, ResolveTaskEnv(spec.env, spec.env_secret));

  PG_ASSIGN_OR_RETURN(root, ResolveStateRoot(spec.state_dir));
  // A resume (spec.resume, prepared by PrepareResume) reopens the job and appends.
  resuming = !spec.resume.empty();
  job_id = resuming || !spec.job_id.empty() ? spec.job_id : NewJobId();
  PG_RETURN_IF_ERROR(CheckOutputPaths(spec));
  PG_RETURN_IF_ERROR(resuming ? state.Open(root, job_id) : state.Create(root, job_id));
  // A new job's directory goes again if the job cannot be set up (its id stays usable).
  made = std::make_unique<NewJobGuard>(resuming ? std::string() : state.dir());
  if (!spec.joblog.empty()) PG_RETURN_IF_ERROR(joblog.Open(spec.joblog, resuming));
  if (!spec.results_dir.empty()) {
    results = std::make_unique<ResultsDir>();
    PG_RETURN_IF_ERROR(results->Open(spec.results_dir, resuming));
  }
  info = NewJobInfo(spec, ctx.argv_line, job_id, jobs, source->known_total(), num_sources);
  if (resuming) {  // keep what the first run recorded
    PG_ASSIGN_OR_RETURN(info, ResumedJobInfo(root, job_id, info));
  } else {
    PG_RETURN_IF_ERROR(inputs.Open(state.dir(), spec.sources));
    source->SetRecorder([this](const std::vector<std::string>& vs) { inputs.Append(vs); },
                        [this](int64_t n) { inputs.End(n); });
  }
  run = info.value("runs", 1);
  if (spec.max_cost_usd > 0) info["max_cost_usd"] = spec.max_cost_usd;  // a resume may raise it
  PG_RETURN_IF_ERROR(state.WriteJobInfo(info));
  PG_RETURN_IF_ERROR(state.OpenTasks());

  // The journal, and on resume what it and the manifest say: tasks with a durable result are
  // not run again; unfinished ones continue from the attempt they reached.
  PG_RETURN_IF_ERROR(journal.Open(state.dir() + "/journal.jsonl"));
  journal.Run(run, static_cast<int>(::getpid()), resuming);
  if (resuming) {
    const int64_t total = source->known_total();  // a resumed job's inputs are all recorded
    double manifest_cost = 0;
    PG_ASSIGN_OR_RETURN(finished_before, ReadFinishedTasks(state.dir(), total, &manifest_cost));
    // What the earlier runs spent: their job.json total, or (a run killed before it wrote
    // one) at least what the manifest's tasks cost.
    spent_before = std::max(info.value("cost_usd", 0.0), manifest_cost);
    PG_ASSIGN_OR_RETURN(replay, ReplayJournal(state.dir() + "/journal.jsonl", [&](int64_t seq) {
                          return seq >= 1 && seq <= total &&
                                 finished_before[static_cast<size_t>(seq - 1)] == 0;
                        }));
  }
  return Status::Ok();
}

// 2. The backend, and the files every task needs staged before it runs.
Status Job::Impl::Start() {
  config.concurrency = jobs;
  config.memory_mb = spec.memory_mb;
  config.function_timeout_s =
      spec.timeout_s > 0 ? std::min<int64_t>(900, static_cast<int64_t>(spec.timeout_s) + 5) : 900;
  config.state_root = root;
  config.job_id = job_id;
  config.async = spec.mode == "async";
  config.function_name = spec.function_name;
  config.bucket = spec.bucket;
  config.deployment_config = spec.config;
  // Result object numbers never repeat across the runs of a job (a run makes < 1e9 invokes).
  config.first_result_number = static_cast<int64_t>(run - 1) * 1000000000 + 1;
  config.async_observer = this;
  auto b = ctx.backend(config);
  if (!b.ok()) {
    info["status"] = "failed";
    (void)state.WriteJobInfo(info);
    return b.status();
  }
  backend = std::move(b).value();
  made->Keep();
  if (!backend->function_name().empty()) {
    info["function"] = backend->function_name();  // for `parallelagram cancel`
    (void)state.WriteJobInfo(info);
  }
  if (!spec.quiet && !backend->description().empty()) observer.Notice(backend->description());
  in_flight = jobs;
  if (backend->max_in_flight() > 0 && backend->max_in_flight() < jobs) {
    in_flight = backend->max_in_flight();
    if (!spec.quiet) {
      observer.Notice(fmt::format(
          "running at most {} tasks at a time (-j {}): the function's reserved concurrency is {}",
          in_flight, jobs, in_flight));
    }
  }
  StagingOptions staging_opts = backend->staging_options();
  if (staging_opts.bundle) {
    staging_opts.bundle_exes = spec.bundle_exes;
    staging_opts.program = ProgramOf(spec);
    staging_opts.work_dir = state.dir() + "/bundle";
  }
  staging = std::make_unique<Staging>(backend->store(), staging_opts);
  source->SetStore(&backend->store(), job_id);
  Status st = staging->AddBasefiles(spec.basefiles);
  // Inputs known up front: every task's transfer files are staged now, together. A streamed
  // task's are staged when it arrives (PullTask).
  for (size_t i = 0; st.ok() && i < planned.size(); ++i) {
    for (const auto& path : planned[i].transfer) {
      st = staging->AddTransferFile(path);
      if (!st.ok()) break;
    }
  }
  if (st.ok()) st = staging->Commit();
  if (!st.ok()) {
    info["status"] = "failed";
    (void)state.WriteJobInfo(info);
    return st;
  }
  if (staging_opts.report && !spec.quiet && !staging->SummaryLine().empty()) {
    observer.Notice(staging->SummaryLine());
  }

  auto report = [this](const Status& s) { observer.Problem(s); };
  retrieval = std::make_unique<ResultRetrieval>(
      ResultRetrieval::Settings{spec.max_output_bytes, config.async, spec.no_download},
      backend->store(), job_id, state, results.get(), config.first_result_number, report);
  recorder = std::make_unique<TaskRecorder>(job_id, state, results.get(),
                                            joblog.is_open() ? &joblog : nullptr, *backend, report);
  if (resuming) {  // --results and --joblog: exactly the manifest's tasks, before any is added
    PG_RETURN_IF_ERROR(recorder->AlignWithManifest(finished_before));
  }
  TaskEventBuilder::Settings es;
  es.job_id = job_id;
  es.shell = spec.shell;
  es.timeout_ms = static_cast<int64_t>(spec.timeout_s * 1000);
  es.max_output = spec.max_output_bytes;
  es.env = task_env;
  es.async = config.async;
  es.scratch_dir = state.dir() + "/output";
  builder =
      std::make_unique<TaskEventBuilder>(es, tmpl.get(), *staging, backend->store(), *retrieval);
  // Costs: the function's shape at the prices that apply.
  const FunctionShape shape = backend->shape();
  const int64_t worst_ms = WorstInvocationMs(spec.timeout_s, shape.timeout_s);
  meter = std::make_unique<CostMeter>(
      FunctionPricing{prices, shape.architecture, shape.memory_mb, shape.ephemeral_storage_mb},
      spec.max_cost_usd, worst_ms);
  meter->AddEarlier(spent_before);
  Scheduler::Options so;
  so.jobs = in_flight;
  if (spec.max_cost_usd > 0) {
    so.may_start = [this](int64_t running) { return meter->MayStart(running); };
    if (!spec.quiet) {
      observer.Notice(fmt::format(
          "budget {}: an invocation starts only while the spent {} plus {} per invocation in "
          "flight (its worst case: {} MB for {} s) stays within it{}",
          FormatUsd(spec.max_cost_usd), FormatUsd(meter->spent()),
          FormatUsd(meter->worst_case_usd()), shape.memory_mb, worst_ms / 1000,
          shape.local ? " (at Lambda's prices: the local backend itself is free)" : ""));
    }
  }
  so.max_attempts = spec.retries;
  so.delay_ms = static_cast<int64_t>(spec.delay_s * 1000);
  so.halt = spec.halt;
  so.speculate = spec.speculate;
  // Live output (--line-buffer, -u): on the local backend the worker appends what a task
  // writes to files the driver reads from its loop (LiveTail). Output printed cannot be taken
  // back, so no duplicate attempts then. On AWS the output arrives whole when a task ends.
  if (spec.line_buffer || spec.ungroup) {
    const char* opt = spec.line_buffer ? "--line-buffer" : "-u/--ungroup";
    if (!backend->shape().local) {
      observer.Notice(fmt::format(
          "{}: on AWS each task's output arrives whole when the task ends, and is printed then",
          opt));
    } else {
      const std::string dir = state.dir() + "/live";
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return Status::IoError("cannot create " + dir + " for " + opt + ": " + ec.message());
      }
      live_tail = std::make_unique<LiveTail>(
          dir, [this](int64_t seq, bool is_stderr, const std::string& data) {
            auto tag = live_tags.find(seq);
            observer.TaskOutput(seq, is_stderr, data,
                                tag == live_tags.end() ? std::string() : tag->second);
          });
      so.speculate = SpeculateOptions{};  // off
    }
  }
  so.known_total = source->known_total();
  auto build = [this](int64_t seq, int slot, int64_t invocation) -> Result<TaskEvent> {
    auto it = live.find(seq);
    if (it == live.end()) return Status::Internal("task " + std::to_string(seq) + " is unknown");
    if (!it->second.planned.ok()) return it->second.planned;
    const TaskInputs in{seq, slot, it->second.values};
    auto event = builder->Build(in, it->second.files, invocation, it->second.spec.get());
    if (event.ok() && live_tail) {
      auto prefix = live_tail->Open(seq, retrieval->InvocationName(seq, invocation));
      if (prefix.ok()) {
        event->live_output = *prefix;
        live_tags[seq] = TagOf(in);
      } else {
        observer.Problem(prefix.status());  // this attempt's output comes when it ends
      }
    }
    return event;
  };
  sched = std::make_unique<Scheduler>(so, build, backend->invoker(), *ctx.loop, *ctx.clock, *this);
  return Status::Ok();
}

// A resumed job: tasks with a durable result count as done; in async mode the results
// workers wrote meanwhile are collected before anything is dispatched.
void Job::Impl::CollectAsyncResults() {
  int64_t done_before = 0, ok_before = 0;
  for (uint8_t f : finished_before) {
    if (f != 0) ++done_before;
    if (f == 1) ++ok_before;
  }
  sched->CountFinishedEarlier(ok_before, done_before - ok_before);
  // An attempt in flight at the interruption left no answer: it runs again as itself, and
  // only answered invocations count.
  for (const auto& [seq, t] : replay.tasks) sched->RestoreTask(seq, t.attempt, t.answered);
  int64_t collected = 0;
  if (backend->inbox()) {
    InboxCollection c =
        CollectInbox(*backend->inbox(), *ctx.loop, job_id, finished_before, replay, spec.retries);
    if (!c.error.empty() && !spec.quiet) {
      observer.Notice("could not list the results already written (" + c.error +
                      "); their tasks run again");
    }
    for (const auto& [seq, attempt, answered] : c.restore) {
      sched->RestoreTask(seq, attempt, answered);
    }
    for (auto& rec : c.finished) {
      const int64_t seq = rec.seq;
      finished_before[static_cast<size_t>(seq - 1)] =
          rec.result.outcome == Outcome::kSucceeded ? 1 : 2;
      sched->CountFinishedOutside(rec.result.outcome == Outcome::kSucceeded);
      rec.cost_usd = ChargeFor(rec).usd;  // answered while no driver ran: billed all the same
      Record(std::make_shared<TaskRecord>(std::move(rec)), ValuesOf(seq));
      ++collected;
    }
    // Objects are deleted only once the manifest lines made from them are durable.
    RecordFinished();
    state.Flush();
    journal.Flush();
    backend->inbox()->Remove(std::move(c.consumed));
  }
  if (!spec.quiet) {
    const int64_t total = source->known_total();
    std::string c =
        backend->inbox()
            ? fmt::format(", {} collected from results workers wrote meanwhile", collected)
            : "";
    observer.Notice(
        fmt::format("resuming job {} (run {}): {} of {} tasks already done{}; {} to run", job_id,
                    run, done_before, total, c, total - done_before - collected));
    for (const auto& s : spec.sources) {
      if (!s.complete) {
        observer.Notice(fmt::format(
            "the job stopped while it was still reading {}: the {} inputs read by then are "
            "finished now; give the rest to a new job",
            s.origin, s.values.size()));
      }
    }
  }
}

// 3. Run until every task has ended (or the job was stopped).
void Job::Impl::Execute() {
  start_us = ctx.clock->NowMonoUs();
  if (resuming) CollectAsyncResults();
  info["status"] = "running";
  (void)state.WriteJobInfo(info);
  observer.JobStarted(job_id, source->known_total(), jobs, state.dir());
  // New input wakes the scheduler (the source calls this from its reader thread).
  std::weak_ptr<bool> weak = alive;
  Loop* loop = ctx.loop;
  Scheduler* s = sched.get();
  source->SetWake([loop, weak, s] {
    loop->Post([weak, s] {
      if (weak.lock()) s->Wake();
    });
  });
  sched->Start();
  // Durable within ~100 ms: buffered manifest and journal lines are written on a timer too,
  // not only when the next line comes.
  if (!sched->done()) {
    Later(Journal::kFlushMs, &Impl::FlushTick);
    if (live_tail) PollLiveOutput();
    Tick();
    WatchStop();
    ctx.loop->Run();
  }
}

// 4. What the run leaves behind: the store cleaned, job.json's end, the exit status.
int Job::Impl::Finish() {
  if (live_tail) {  // an abandoned attempt's live files go; it may still write to them
    live_tail.reset();
    std::error_code ec;
    std::filesystem::remove(state.dir() + "/live", ec);
  }
  RecordFinished();
  state.Flush();
  observer.Progress(Counts(), ElapsedMs(), true);
  if (spec.cleanup) {
    for (const auto& uri : staging->TransferUris()) (void)backend->store().Delete(uri);
  }
  for (const auto& uri : builder->spilled()) (void)backend->store().Delete(uri);
  for (const auto& uri : source->StoredObjects()) (void)backend->store().Delete(uri);
  // Sync mode: every result and returned file the driver used is fetched and deleted as it
  // comes, and so is every dropped answer's; what an invocation without an answer (transport
  // failure, a loser still running, an earlier run's attempt in flight at its interruption)
  // stored is swept here. Objects a still-running loser writes after this are left.
  const bool sweep =
      !config.async && !spec.no_download &&
      (resuming || retrieval->may_leave_objects() || halted || interrupt != Interruption::kNone);
  if (sweep) SweepJobObjects(backend->store(), job_id);
  RunTotals totals;
  totals.halted = halted;
  totals.interrupt = interrupt;
  totals.succeeded = sched->succeeded();
  totals.failed = sched->failed();
  // Tasks never finished: of all the inputs when they were read whole, else of those read.
  const int64_t total = source->known_total() >= 0 ? source->known_total() : sched->total();
  totals.not_run = total - sched->finished();
  totals.elapsed_ms = ElapsedMs();
  totals.budget_stopped = budget_stopped;
  meter->SetDriverRequests(backend->s3_requests());
  totals.cost_usd = meter->spent();
  totals.cost_estimate = meter->estimated();
  info["total"] = total;
  if (budget_stopped) {
    observer.Notice(fmt::format(
        "stopped at the budget: spent {} of --max-cost {}; {} task(s) did not start (one more "
        "invocation could cost up to {}); continue with `parallelagram run --resume {} "
        "--max-cost MORE`",
        FormatUsd(meter->spent()), FormatUsd(spec.max_cost_usd), totals.not_run,
        FormatUsd(meter->worst_case_usd()), job_id));
  }
  int exit_status = FinishJobInfo(totals, info);
  if (!input_error.empty()) {  // the input could not be read to its end: not a success
    info["input_error"] = input_error;
    if (exit_status == 0) exit_status = 1;
  }
  state.Sync();
  journal.End(info["status"].get<std::string>());
  journal.Sync();
  (void)state.WriteJobInfo(info);
  observer.JobEnded(totals, exit_status);
  return exit_status;
}

Scheduler::Listener::Pull Job::Impl::PullTask(int64_t* seq) {
  // No new task while a finished one waits for its manifest line: a kill -9 then re-runs at
  // most the tasks in flight (RecordFinished wakes the scheduler once they are written).
  if (!finished.empty()) return Pull::kWait;
  for (;;) {
    SourcedTask pulled_task;
    TaskSource::Next n = source->Pull(&pulled_task);
    if (n == TaskSource::Next::kWait) return Pull::kWait;
    if (n == TaskSource::Next::kEnd) {
      if (Status e = source->error(); !e.ok()) {
        observer.Problem(e);
        input_error = e.message();
      }
      return Pull::kEnd;
    }
    const int64_t s = ++pulled;
    LiveTask t;
    t.spec = std::move(pulled_task.spec);
    TaskInputs in{s, 1, std::move(pulled_task.values)};
    state.AppendTask(JsonLine(
        {{"seq", s}, {"args", ArgsJson(in.values)}, {"command", Describe(in, t.spec.get())}}));
    t.values = std::move(in.values);
    // Finished in an earlier run: counted already, never run again.
    if (s <= static_cast<int64_t>(finished_before.size()) &&
        finished_before[static_cast<size_t>(s - 1)] != 0) {
      continue;
    }
    if (t.spec) {  // its own files, checked by whoever described it
      t.files = PlannedTask{t.spec->transfer, t.spec->returns};
      for (const auto& path : t.files.transfer) {
        if (Status st = staging->AddTransferFile(path); !st.ok()) t.planned = st;
      }
      if (t.planned.ok() && !t.files.transfer.empty()) t.planned = staging->Commit();
    } else if (s <= static_cast<int64_t>(planned.size())) {  // planned and staged in Open/Start
      t.files = std::move(planned[static_cast<size_t>(s - 1)]);
    } else if (!file_templates.empty()) {
      auto p = PlanTaskFiles(file_templates, TaskInputs{s, 1, t.values});
      if (!p.ok()) {
        t.planned = p.status();
      } else {
        t.files = std::move(p).value();
        for (const auto& path : t.files.transfer) {
          if (Status st = staging->AddTransferFile(path); !st.ok()) t.planned = st;
        }
        if (t.planned.ok()) t.planned = staging->Commit();  // only what is new
      }
    }
    t.files.stdin_parts = std::move(pulled_task.stdin_parts);
    live.emplace(s, std::move(t));
    *seq = s;
    return Pull::kTask;
  }
}

void Job::Impl::OnRetry(const TaskRecord& a) {
  EndLiveOutput(a.seq);
  JournalAttempt(a, ChargeFor(a));
  retrieval->DeleteObjectsOf(a);
  const Outcome o = a.result.outcome;
  const bool counted = o != Outcome::kThrottled && o != Outcome::kTransport;
  journal.Retry(a.seq, a.attempt + (counted ? 1 : 0));
  observer.TaskRetrying(a);
}

void Job::Impl::OnFinish(const TaskRecord& rec_in) {
  EndLiveOutput(rec_in.seq);  // all it wrote goes before its TaskFinished
  live_tags.erase(rec_in.seq);
  JournalAttempt(rec_in, ChargeFor(rec_in));
  auto rec = std::make_shared<TaskRecord>(rec_in);
  if (auto c = task_cost.find(rec_in.seq); c != task_cost.end()) {
    rec->cost_usd = c->second;
    task_cost.erase(c);
  }
  auto it = live.find(rec_in.seq);
  std::vector<std::string> values;
  std::shared_ptr<const TaskSpec> task_spec;
  int64_t stdin_bytes = 0;
  if (it != live.end()) {
    values = std::move(it->second.values);
    task_spec = std::move(it->second.spec);
    for (const StagedFile& part : it->second.files.stdin_parts) {
      stdin_bytes += static_cast<int64_t>(part.size);
    }
    live.erase(it);
  }
  Record(std::move(rec), std::move(values), task_spec.get(), stdin_bytes);
}

// A finished task: its full result and --return files brought back, then recorded with the
// others of this pass of the loop.
void Job::Impl::Record(std::shared_ptr<TaskRecord> rec, std::vector<std::string> values,
                       const TaskSpec* task_spec, int64_t stdin_bytes) {
  // The answering invocation's own result object: a late loser writes elsewhere.
  Finished f;
  f.full_result_uri =
      retrieval->FetchFullResult(*rec, retrieval->ResultUri(rec->seq, rec->invocation));
  f.ft.rec = rec.get();
  f.ft.args = std::move(values);
  f.ft.stdin_bytes = stdin_bytes;
  f.ft.command = Describe(TaskInputs{rec->seq, rec->slot, f.ft.args}, task_spec);
  f.ft.tag = TagOf(TaskInputs{rec->seq, rec->slot, f.ft.args});
  if (spec.files) f.ft.stdout_path = spec.results_dir + "/" + std::to_string(rec->seq) + "/stdout";
  retrieval->BringBack(*rec, f.ft);
  f.rec = std::move(rec);
  finished.push_back(std::move(f));
  if (!record_scheduled) {
    record_scheduled = true;
    Later(0, &Impl::RecordFinished);
  }
}

// The finished tasks recorded (their inputs durable first), then handed to the caller.
void Job::Impl::RecordFinished() {
  record_scheduled = false;
  if (finished.empty()) return;
  std::vector<Finished> batch;
  batch.swap(finished);
  std::vector<TaskRecorder::Finished> rows;
  rows.reserve(batch.size());
  for (const Finished& f : batch) rows.push_back({f.rec.get(), &f.ft, f.full_result_uri});
  recorder->Record(rows);
  for (Finished& f : batch) observer.TaskFinished(std::move(f.rec), f.ft);
  if (sched) sched->Wake();  // PullTask held new tasks back until now
}

ProgressCounts Job::Impl::Counts() const {
  ProgressCounts c;
  c.total = sched->total();
  c.running = sched->running();
  c.succeeded = sched->succeeded();
  c.failed = sched->failed();
  c.retried = sched->retried();
  c.cost_usd = meter ? meter->spent() : -1;
  c.newest_args = newest_args;
  return c;
}

void Job::Impl::Later(int64_t ms, void (Impl::*fn)()) {
  std::weak_ptr<bool> weak = alive;
  ctx.loop->After(ms, [this, weak, fn] {
    if (weak.lock()) (this->*fn)();
  });
}

void Job::Impl::FlushTick() {
  state.Flush();
  journal.Flush();
  if (!sched->done()) Later(Journal::kFlushMs, &Impl::FlushTick);
}

// Live output comes within this long of the worker reading it.
constexpr int64_t kLivePollMs = 20;

void Job::Impl::PollLiveOutput() {
  if (sched->done()) return;
  live_tail->Poll();
  Later(kLivePollMs, &Impl::PollLiveOutput);
}

void Job::Impl::Tick() {
  if (sched->done()) return;
  observer.Progress(Counts(), ElapsedMs(), false);
  // job.json keeps the money spent so far (`parallelagram jobs` shows it), every 2 s.
  if (++ticks % 20 == 0) {
    meter->SetDriverRequests(backend->s3_requests());
    if (meter->spent() != cost_written) {
      cost_written = meter->spent();
      info["cost_usd"] = cost_written;
      (void)state.WriteJobInfo(info);
    }
  }
  Later(100, &Impl::Tick);
}

void Job::Impl::WatchStop() {
  if (!ctx.stop || sched->done()) return;
  const Interruption abandon = ctx.stop->abandon_requested();
  if (abandon != Interruption::kNone) {
    interrupt = abandon;
    if (abandon == Interruption::kCancelled) {
      observer.Stopping(
          fmt::format("cancelled: starting no new tasks, abandoning {} running task(s); job {} "
                      "is marked cancelled (the manifest keeps the {} that finished)",
                      sched->running(), job_id, sched->finished()),
          "abandon");
    } else {
      observer.Stopping(fmt::format("interrupted again: abandoning {} running task(s); the "
                                    "manifest keeps the {} that finished",
                                    sched->running(), sched->finished()),
                        "abandon");
    }
    sched->Abandon();
    return;
  }
  if (ctx.stop->drain_requested() && !sched->draining()) {
    interrupt = Interruption::kInterrupted;
    observer.Stopping(fmt::format("interrupted: starting no new tasks; waiting for {} running "
                                  "(Ctrl-C again to abandon them)",
                                  sched->running()),
                      "drain");
    sched->Drain();
    if (sched->done()) return;
  }
  Later(100, &Impl::WatchStop);
}

Job::Job(RunOptions spec, std::unique_ptr<TaskSource> source, JobContext ctx)
    : impl_(std::make_unique<Impl>(std::move(spec), std::move(source), std::move(ctx))) {}

Job::~Job() { impl_->alive.reset(); }

const std::string& Job::id() const { return impl_->job_id; }

int Job::Run() {
  Impl& j = *impl_;
  if (Status s = j.Open(); !s.ok()) return j.Fail(s);
  if (Status s = j.Start(); !s.ok()) return j.Fail(s);
  j.Execute();
  return j.Finish();
}

}  // namespace parallelagram::driver
