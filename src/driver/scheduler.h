// Scheduler: keeps up to `jobs` task attempts in flight through an Invoker, retries them by
// Outcome, applies --halt, and reports every attempt to a Listener. It is passive: it acts
// only in Start() and in the Invoker's and Timers' callbacks, all on the loop thread.
//
// Retry policy (keyed off parallelagram::Outcome):
//   kSucceeded                       final.
//   kFailed, kTimedOut, kOutOfMemory, kCrashed, kStagingError
//                                    retried until `max_attempts` attempts (GNU parallel's
//                                    --retries counts attempts), at once.
//   kThrottled                       the task did not run: retried after a back-off, without
//                                    counting an attempt (up to max_throttle_retries).
//   kTransport                       it may have run: retried after a back-off, up to
//                                    `max_transport_retries` extra attempts.
// Halting: --halt now reports OnDone at once, abandoning running attempts (their results are
// dropped); --halt soon starts nothing new and lets running attempts finish.
//
// Ownership: borrows everything passed to the constructor; they must outlive it. Callbacks
// that arrive after the Scheduler is destroyed are ignored.
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "driver/halt_policy.h"
#include "driver/invoker.h"
#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

// One attempt of a task as the scheduler saw it.
struct TaskRecord {
  int64_t seq = 0;            // 1-based task number ({#})
  int slot = 0;               // {%}
  int attempt = 0;            // 1-based
  int64_t start_epoch_ms = 0;
  int64_t runtime_ms = 0;     // driver-side wall time of the attempt
  TaskResult result;
};

class Scheduler {
 public:
  struct Options {
    int jobs = 1;
    int max_attempts = 1;
    int max_transport_retries = 3;
    int max_throttle_retries = 1000;
    int64_t backoff_initial_ms = 50;
    int64_t backoff_max_ms = 5000;
    HaltPolicy halt;
  };

  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnStart(int64_t /*seq*/, int /*attempt*/, int /*slot*/) {}
    // An attempt ended without success and the task will run again.
    virtual void OnRetry(const TaskRecord& /*attempt*/) {}
    // The task's final attempt ended (succeeded or not). Called once per finished task.
    virtual void OnFinish(const TaskRecord& rec) = 0;
    // The halt condition was met (`now`: OnDone follows at once).
    virtual void OnHalt(const std::string& /*why*/) {}
    // No task is running and none will start. Called exactly once; nothing follows.
    virtual void OnDone() = 0;
  };

  // Builds the event of task `seq` for `slot`. An error finishes the task as kStagingError.
  using EventBuilder = std::function<Result<TaskEvent>(int64_t seq, int slot)>;

  Scheduler(Options options, int64_t total, EventBuilder build, Invoker& invoker, Timers& timers,
            const Clock& clock, Listener& listener);
  ~Scheduler();

  void Start();

  int64_t total() const { return total_; }
  int64_t running() const { return running_; }
  int64_t succeeded() const { return succeeded_; }
  int64_t failed() const { return failed_; }
  int64_t finished() const { return succeeded_ + failed_; }
  int64_t retried() const { return retried_; }  // attempts that were retried
  bool halted() const { return halted_; }
  bool done() const { return done_; }

 private:
  struct Pending {
    int64_t seq;
    int attempt;
    int transport_retries;
    int throttle_retries;
  };
  void Fill();
  void Dispatch(Pending p);
  void OnResult(Pending p, int slot, int64_t start_epoch_ms, int64_t start_us, TaskResult r);
  void Requeue(Pending p, int64_t delay_ms);
  void Finish(const TaskRecord& rec);
  void MaybeDone();
  int64_t Backoff(int n) const;

  Options opt_;
  int64_t total_;
  EventBuilder build_;
  Invoker& invoker_;
  Timers& timers_;
  const Clock& clock_;
  Listener& listener_;

  int64_t next_seq_ = 1;
  std::deque<Pending> ready_;  // retries waiting for a slot
  std::vector<int> free_slots_;
  int64_t running_ = 0;
  int64_t delayed_ = 0;        // retries waiting on a back-off timer
  int64_t succeeded_ = 0, failed_ = 0, retried_ = 0;
  bool halted_ = false, halt_now_ = false, done_ = false, started_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parallelagram::driver
