// What a running Job tells its caller (job.h), and how the caller asks it to stop.
//
// JobObserver: called on the loop thread, in this order for a task: TaskStarted (per attempt,
// duplicates too), TaskRetrying (an attempt that runs again), TaskFinished exactly once per
// task that finished in this run (tasks finished in an earlier run of a resumed job are not
// reported again). The `parallelagram run` console (console_reporter.h) prints them; a library
// caller can queue them for its own thread (result_queue.h).
//
// StopRequest: the caller's way to stop a job from any thread (the CLI maps Ctrl-C and
// SIGTERM to it): Drain() starts nothing new and lets running attempts finish; Abandon()
// ends the job at once, dropping running attempts' results. The job polls it every 100 ms.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "driver/job_info.h"
#include "driver/job_record.h"
#include "driver/progress.h"
#include "driver/scheduler.h"

namespace parallelagram::driver {

class JobObserver {
 public:
  virtual ~JobObserver() = default;
  // The job is about to dispatch (after its state and backend are up).
  virtual void JobStarted(const std::string& /*job_id*/, int64_t /*known_total*/, int /*jobs*/,
                          const std::string& /*state_dir*/) {}
  virtual void TaskStarted(int64_t /*seq*/, int /*attempt*/, int /*slot*/, bool /*duplicate*/) {}
  virtual void TaskRetrying(const TaskRecord& /*attempt*/) {}
  // Live output (--line-buffer / --ungroup on the local backend): task `seq`'s running attempt
  // wrote `data` (never empty) on stdout or stderr, as it came; `tag` is the task's tag ("" none).
  // What an attempt wrote comes before its TaskRetrying or TaskFinished; the TaskRecord still
  // holds the whole output.
  virtual void TaskOutput(int64_t /*seq*/, bool /*is_stderr*/, const std::string& /*data*/,
                          const std::string& /*tag*/) {}
  // A task's final result, recorded durably before this call (manifest, --results, --joblog).
  // `ft` describes it (args, command, returned files). Exactly once per task.
  virtual void TaskFinished(std::shared_ptr<const TaskRecord> rec, const FinishedTask& ft) = 0;
  // The job could not be set up (bad input, a setup error): nothing was dispatched and
  // nothing follows but JobEnded.
  virtual void SetupFailed(const Status& /*s*/) {}
  // A one-line notice for the user (no "parallelagram: " prefix, no newline).
  virtual void Notice(const std::string& /*line*/) {}
  // A failed step that does not stop the job (a fetch, a write): Notice-like.
  virtual void Problem(const Status& /*s*/) {}
  // A stop request was acted on: `action` is "drain" or "abandon"; `what` says it.
  virtual void Stopping(const std::string& /*what*/, const char* /*action*/) {}
  // --halt was met (`why`: "failed tasks: 3").
  virtual void Halting(const std::string& /*why*/) {}
  // Now and then while the job runs, and once at its end (`final`).
  virtual void Progress(const ProgressCounts& /*c*/, int64_t /*elapsed_ms*/, bool /*final*/) {}
  // The run ended (job.json written); nothing follows.
  virtual void JobEnded(const RunTotals& /*t*/, int /*exit_status*/) {}
};

class StopRequest {
 public:
  // Any thread; the first of each kind counts.
  void Drain() { drain_.store(true); }
  void Abandon(Interruption why) {
    int expected = 0;
    abandon_.compare_exchange_strong(expected, static_cast<int>(why));
  }
  bool drain_requested() const { return drain_.load(); }
  // kNone when not asked to abandon.
  Interruption abandon_requested() const { return static_cast<Interruption>(abandon_.load()); }

 private:
  std::atomic<bool> drain_{false};
  std::atomic<int> abandon_{0};
};

}  // namespace parallelagram::driver
