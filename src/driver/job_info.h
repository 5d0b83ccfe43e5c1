// job.json for `parallelagram run`: what a run records about its job (state_dir.h stores
// it) when it starts, when it resumes a job, and when it ends (the run's summary and exit
// status).
//
// Fields at the start: job_id, created_at, status "starting", pid, cwd, command, shell,
// command_line, backend, jobs (the effective -j), total, sources, link, retries, timeout_s,
// results_dir, joblog, mode, config (absolute, when given), option_args (parsed again on
// resume), runs. At the end: status (finished, halted, interrupted, cancelled), finished_at,
// succeeded, failed, not_run, exit_status, elapsed_s.
// Thread-safety: pure functions (they read the clock and the current directory).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// How signals ended a run (cli/signal_stop.h).
enum class Interruption { kNone, kInterrupted, kCancelled };

// The job.json of a new run of job `job_id` (runs 1). `argv_line`: the whole command line;
// `jobs`: the effective -j.
nlohmann::json NewJobInfo(const RunOptions& o, const std::string& argv_line,
                          const std::string& job_id, int jobs, int64_t total, int num_sources);

// For a resume: job `job_id`'s recorded job.json (under state root `root`) with `fresh`'s
// pid, status "starting", runs one more, resumed_at now, and the previous run's end fields
// removed. Errors: ReadJob's (the job does not exist or its job.json is unreadable).
Result<nlohmann::json> ResumedJobInfo(const std::string& root, const std::string& job_id,
                                      const nlohmann::json& fresh);

// What a run ended with.
struct RunTotals {
  bool halted = false;
  Interruption interrupt = Interruption::kNone;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t not_run = 0;
  int64_t elapsed_ms = 0;
  bool budget_stopped = false;  // --max-cost stopped the job before every task started
  double cost_usd = 0;          // spent by every run of the job so far
  bool cost_estimate = false;   // some of it is the workers' own measure
};

// Sets `info`'s end fields from `t` and returns the exit status: 130 interrupted (Ctrl-C),
// 143 cancelled (SIGTERM), 102 stopped at --max-cost, else the number of failed tasks, at most 101.
int FinishJobInfo(const RunTotals& t, nlohmann::json& info);

}  // namespace parallelagram::driver
