// SignalStop: SIGINT and SIGTERM for `parallelagram run`, as a StopRequest to the job
// (driver/job_observer.h). The handlers only store atomics (async-signal-safe); the job polls
// the request on its loop every ~100 ms and acts there:
//   first SIGINT    stop dispatching (no new tasks, retries or duplicates), say so, and wait for
//                   the running attempts; an attempt that would have been retried is left
//                   unfinished (not_run), never recorded as failed.
//   second SIGINT   abandon the running attempts: their results are dropped; the manifest holds
//   or SIGTERM      exactly the tasks that finished, each once (job.json status "interrupted",
//                   or "cancelled" for SIGTERM); exit status 130 (SIGINT) or 143 (SIGTERM).
// One at a time per process; the previous handlers are restored when it ends. Install and
// destroy from the main thread.
#pragma once

#include <csignal>

#include "driver/job_observer.h"

namespace parallelagram::cli {

class SignalStop {
 public:
  explicit SignalStop(driver::StopRequest& stop);
  ~SignalStop();
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;

 private:
  struct sigaction old_int_{}, old_term_{};
};

}  // namespace parallelagram::cli
