// RunJob: `parallelagram run` from parsed options to exit status: a thin adapter that feeds
// the run's inputs (InputFeed) to a Job (job.h) and prints what it reports on the run's
// streams (ConsoleReporter). With --dry-run it prints the tasks' command lines instead.
//
// Bad input starts nothing: templates and (for inputs known up front) every task's
// --transferfile are checked before the state directory is made. Exit status: 0 when every
// task succeeded, else the number of failed tasks (at most 101); kExitUsage (255) for a usage
// or setup error, after one line "parallelagram run: <what was wrong and what to do>" on
// stderr; 130 after a drain or abandon request (Ctrl-C), 143 after a cancel (SIGTERM).
// Thread-safety: call from one thread; it runs `env.loop` until the job ends.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/job.h"
#include "driver/run_options.h"

namespace parallelagram::driver {

struct RunEnv {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool err_is_tty = false;
  Loop* loop = nullptr;
  BackendFactory backend;
  const Clock* clock = nullptr;
  std::string argv_line;  // the whole command line, recorded in job.json
  int default_jobs = 1;   // -j when not given (the number of cores)
  // Ctrl-C / SIGTERM as the CLI maps them (cli/signal_stop.h); null: never stopped.
  const StopRequest* stop = nullptr;
  // --report FILE: writes job `job_id`'s report (of state root `root`) to `path` once the job
  // has ended (the CLI's report layer, src/report/). Null: --report is refused.
  std::function<Status(const std::string& root, const std::string& job_id, const std::string& path)>
      write_report;
  // Opens a store on S3 bucket `bucket` for reading an s3:// --pipe-part input (its size and
  // the bytes around each split point), whatever the backend. Null: such inputs are refused.
  std::function<Result<std::unique_ptr<ObjectStore>>(const std::string& bucket)> open_s3;
};

int RunJob(const RunOptions& options, RunEnv& env);

}  // namespace parallelagram::driver
