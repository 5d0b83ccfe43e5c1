// RunJob: `parallelagram run` from parsed options to exit status.
//
// Order of work, so that bad input starts nothing: templates are validated, every task's
// --transferfile checked to exist, then (unless --dry-run) the state directory, --joblog and
// --results are created, the backend started, inputs staged, and tasks dispatched by the
// Scheduler. Each finished task is recorded (manifest, --results, --joblog) and its output
// printed (OrderedOutput). Exit status: 0 when every task succeeded, else the number of
// failed tasks (at most 101); kExitUsage (255) for a usage or setup error, after printing
// one line "parallelagram run: <what was wrong and what to do>" on stderr. Interrupted
// (env.interrupts): 130 after Ctrl-C, 143 after SIGTERM, job.json status "interrupted" or
// "cancelled".
// Thread-safety: call from one thread; it runs `env.loop` until the job ends.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/interrupts.h"
#include "driver/run_options.h"

namespace parallelagram::driver {

inline constexpr int kExitUsage = 255;
inline constexpr int kExitInterrupted = 130;  // SIGINT (Ctrl-C), as shells report it
inline constexpr int kExitTerminated = 143;   // SIGTERM

struct RunEnv {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool err_is_tty = false;
  Loop* loop = nullptr;
  BackendFactory backend;
  const Clock* clock = nullptr;
  std::string argv_line;  // the whole command line, recorded in job.json
  int default_jobs = 1;   // -j when not given (the number of cores)
  // SIGINT/SIGTERM counts, polled on the loop (driver/interrupts.h); null: not watched.
  const InterruptSource* interrupts = nullptr;
};

int RunJob(const RunOptions& options, RunEnv& env);

}  // namespace parallelagram::driver
