// Job control: the operations on a job another process may be running, shared by
// `run --resume` (is the driver alive?) and `parallelagram cancel` (stop it, record it).
//
// A job's driver is the pid in its job.json; it is taken as alive only while /proc says that
// pid is a live (not zombie) `parallelagram ... run` process, so a pid reused by something
// else is never signalled. Thread-safe (no shared state); StopJob blocks for up to its wait.
#pragma once

#include <cstdint>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

// True when `pid` is a live (not zombie) `parallelagram ... run` process.
bool IsLiveDriver(int pid);

// Sets job.json's status to "cancelled" in the job directory `job_dir` (through a temporary
// renamed into place; the other fields are kept). Errors: NotFound/IoError naming the file.
Status MarkJobCancelled(const std::string& job_dir);

struct StopOutcome {
  enum class How {
    kStopped,     // the driver exited on SIGTERM; job.json says `status`
    kKilled,      // it did not exit within the wait: SIGKILL, then marked cancelled
    kMarkedDead,  // job.json said running but no driver was alive: marked cancelled
    kNotRunning,  // the job had ended (`status`); nothing was done
  };
  How how = How::kNotRunning;
  int pid = 0;         // job.json's driver pid
  std::string status;  // job.json's status afterwards
};

// Stops job `job_id` under state root `root`: SIGTERM to its live driver (which records
// "cancelled" itself), SIGKILL after `wait_ms` if it has not exited, and job.json marked
// cancelled whenever the driver could not record it. Errors: ReadJob's (no such job), and
// failures to write job.json.
Result<StopOutcome> StopJob(const std::string& root, const std::string& job_id, int64_t wait_ms);

}  // namespace parallelagram::driver
