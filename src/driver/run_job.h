// RunJob: `parallelagram run` from parsed options to exit status.
//
// Order of work, so that bad input starts nothing: templates are validated, every task's
// --transferfile checked to exist, then (unless --dry-run) the state directory, --joblog and
// --results are created, the backend started, inputs staged, and tasks dispatched by the
// Scheduler. Each finished task is recorded (manifest, --results, --joblog) and its output
// printed (OrderedOutput). Exit status: 0 when every task succeeded, else the number of
// failed tasks (at most 101); kExitUsage (255) for a usage or setup error, after printing
// one line "parallelagram run: <what was wrong and what to do>" on stderr.
// Thread-safety: call from one thread; it runs `env.loop` until the job ends.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/run_options.h"

namespace parallelagram::driver {

inline constexpr int kExitUsage = 255;

struct RunEnv {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool err_is_tty = false;
  Loop* loop = nullptr;
  BackendFactory backend;
  const Clock* clock = nullptr;
  std::string argv_line;  // the whole command line, recorded in job.json
  int default_jobs = 1;   // -j when not given (the number of cores)
  // Polled on the loop thread every 100 ms while tasks run; true once the job is cancelled
  // (`parallelagram cancel` sends SIGTERM). Then no new task starts, running attempts are
  // abandoned (their results dropped), job.json's status becomes "cancelled" and RunJob
  // returns kExitCancelled. Null: never cancelled.
  std::function<bool()> cancel_requested;
};

inline constexpr int kExitCancelled = 143;  // 128 + SIGTERM, as a shell reports it

int RunJob(const RunOptions& options, RunEnv& env);

}  // namespace parallelagram::driver
