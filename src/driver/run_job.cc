#include "driver/run_job.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "driver/collect_inbox.h"
#include "driver/command_template.h"
#include "driver/job_info.h"
#include "driver/job_listener.h"
#include "driver/job_output.h"
#include "driver/job_record.h"
#include "driver/joblog.h"
#include "driver/journal.h"
#include "driver/output_paths.h"
#include "driver/progress.h"
#include "driver/result_retrieval.h"
#include "driver/resume.h"
#include "driver/scheduler.h"
#include "driver/staging.h"
#include "driver/state_dir.h"
#include "driver/task_events.h"
#include "driver/task_plan.h"
#include "driver/task_recorder.h"

// The wiring of `parallelagram run`: the pieces are TaskPlan (planning and checks),
// job_info (job.json), Journal and resume, the Backend and Staging, ResultRetrieval,
// TaskRecorder, JobOutput, TaskEventBuilder, JobListener and the Scheduler, CollectInbox.

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
  if (Status s = PlanTaskFiles(o, tasks); !s.ok()) return Usage(env, s);
  if (Status s = CheckBasefiles(o); !s.ok()) return Usage(env, s);

  if (o.dry_run) {
    for (int64_t i = 0; i < total; ++i) {
      TaskInputs in{i + 1, static_cast<int>(i % jobs) + 1, tasks.Values(i + 1)};
      if (o.json) {
        json j = {{"event", "task"},
                  {"seq", i + 1},
                  {"args", in.values},
                  {"command", tmpl.Describe(in)},
                  {"shell", o.shell}};
        j["argv"] = tmpl.Expand(in);
        std::string s = JsonLine(j) + "\n";
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
  if (Status s = CheckOutputPaths(o); !s.ok()) return Usage(env, s);
  JobState state;
  if (Status s = resuming ? state.Open(*root, job_id) : state.Create(*root, job_id); !s.ok()) {
    return Usage(env, s);
  }
  NewJobGuard made(resuming ? std::string() : state.dir());  // removed on a setup error
  JoblogWriter joblog;
  if (!o.joblog.empty()) {
    if (Status s = joblog.Open(o.joblog, resuming); !s.ok()) return Usage(env, s);
  }
  std::unique_ptr<ResultsDir> results;
  if (!o.results_dir.empty()) {
    results = std::make_unique<ResultsDir>();
    if (Status s = results->Open(o.results_dir, resuming); !s.ok()) return Usage(env, s);
  }

  json info = NewJobInfo(o, env.argv_line, job_id, jobs, total, num_sources);
  if (resuming) {  // keep what the first run recorded
    auto resumed = ResumedJobInfo(*root, job_id, info);
    if (!resumed.ok()) return Usage(env, resumed.status());
    info = std::move(resumed).value();
  } else if (Status s = WriteRecordedInputs(state.dir(), o.sources); !s.ok()) {
    return Usage(env, s);
  }
  const int run = info.value("runs", 1);
  if (Status s = state.WriteJobInfo(info); !s.ok()) return Usage(env, s);
  Status wrote = state.WriteTasks(total, [&](int64_t seq) {
    TaskInputs in{seq, 1, tasks.Values(seq)};
    return JsonLine({{"seq", seq}, {"args", ArgsJson(in.values)}, {"command", tmpl.Describe(in)}});
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
  cfg.function_timeout_s =
      o.timeout_s > 0 ? std::min<int64_t>(900, static_cast<int64_t>(o.timeout_s) + 5) : 900;
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
  made.Keep();
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

  JobOutput output(o, env.out, env.err, progress);
  auto report = [&output](const Status& s) { output.Report(s); };
  ResultRetrieval retrieval(o, backend.store(), job_id, state, results.get(),
                            cfg.first_result_number, report);
  TaskRecorder recorder(job_id, state, results.get(), joblog.is_open() ? &joblog : nullptr, backend,
                        report);
  JobListener job(o, env, tmpl, tasks, job_id, retrieval, recorder, output, progress);
  TaskEventBuilder events(o, job_id, tmpl, tasks, staging, backend.store(), retrieval, state);
  auto build = [&events](int64_t seq, int slot, int64_t invocation) {
    return events.Build(seq, slot, invocation);
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
      std::string c =
          backend.inbox()
              ? fmt::format(", {} collected from results workers wrote meanwhile", collected)
              : "";
      std::fprintf(env.err,
                   "parallelagram: resuming job %s (run %d): %lld of %lld tasks already done%s; "
                   "%lld to run\n",
                   job_id.c_str(), run, static_cast<long long>(done_before),
                   static_cast<long long>(total), c.c_str(),
                   static_cast<long long>(total - done_before - collected));
    }
  }

  info["status"] = "running";
  (void)state.WriteJobInfo(info);
  if (o.json) {
    output.Emit({{"event", "job"},
                 {"job_id", job_id},
                 {"total", total},
                 {"jobs", jobs},
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
  output.Flush();
  state.Flush();
  progress.Finish(job.Counts(), job.ElapsedMs());

  if (o.cleanup) {
    for (const auto& uri : staging.TransferUris()) (void)backend.store().Delete(uri);
  }
  for (const auto& uri : events.spilled()) (void)backend.store().Delete(uri);
  // Sync mode: every result and returned file the driver used is fetched and deleted as it
  // comes, and so is every dropped answer's; what an invocation without an answer (transport
  // failure, a loser still running, an earlier run's attempt in flight at its interruption)
  // stored is swept here. Objects a still-running loser writes after this are left.
  const bool sweep = o.mode != "async" && !o.no_download &&
                     (resuming || retrieval.may_leave_objects() || job.halted() ||
                      job.interrupt() != Interruption::kNone);
  if (sweep) SweepJobObjects(backend.store(), job_id);
  const int64_t failed = sched.failed();
  const int64_t not_run = total - sched.finished();
  RunTotals totals;
  totals.halted = job.halted();
  totals.interrupt = job.interrupt();
  totals.succeeded = sched.succeeded();
  totals.failed = failed;
  totals.not_run = not_run;
  totals.elapsed_ms = job.ElapsedMs();
  const int exit_status = FinishJobInfo(totals, info);
  state.Sync();
  journal.End(info["status"].get<std::string>());
  journal.Sync();
  (void)state.WriteJobInfo(info);
  if (o.json) {
    output.Emit({{"event", "done"},
                 {"job_id", job_id},
                 {"succeeded", sched.succeeded()},
                 {"failed", failed},
                 {"not_run", not_run},
                 {"exit_status", exit_status},
                 {"elapsed_s", static_cast<double>(job.ElapsedMs()) / 1000.0}});
  }
  return exit_status;
}

}  // namespace parallelagram::driver
