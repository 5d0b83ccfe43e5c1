// Scheduler: keeps task attempts in flight through an Invoker, retries them by Outcome,
// adapts the in-flight window to throttling (AIMD), duplicates stragglers (--speculate),
// applies --halt, and reports every task exactly once to a Listener. It is passive: it acts
// only in Start() and in the Invoker's and Timers' callbacks, all on the loop thread.
//
// Retry policy (keyed off parallelagram::Outcome):
//   kSucceeded                 final.
//   kFailed, kTimedOut, kOutOfMemory, kCrashed, kStagingError
//                              retried at once until `max_attempts` attempts (GNU parallel's
//                              --retries counts attempts in total).
//   kThrottled                 the task did not run: retried after a back-off without counting
//                              an attempt, up to `max_throttle_retries` times per task.
//   kTransport                 it may have run: retried after a back-off without counting an
//                              attempt, up to `max_transport_retries` times per task.
//   Back-off for the n-th throttle/transport retry of a task: the answer's Retry-After hint
//   (TaskResult::retry_after_ms, capped at `max_retry_after_ms`) plus full jitter,
//   uniform[0, min(backoff_max_ms, backoff_initial_ms * 2^(n-1))]. The bound: a task is
//   invoked at most max_attempts + max_throttle_retries + max_transport_retries times (plus
//   one duplicate per attempt), so no job loops forever; with the defaults a task spends at
//   most ~200 x (60 s + 10 s) waiting on throttles before it ends as `throttled`.
//
// In-flight window (AIMD): starts at `initial_window` (0: `jobs`); a throttle halves it (not
// below 1), at most once per round trip (only throttles of attempts dispatched after the
// last decrease count); every `window` answers that were not throttles or transport errors
// grow it by one, up to `jobs`. Slots ({%}) stay 1..jobs.
//
// Tasks arrive while it runs: whenever a slot is free and no retry or duplicate waits, the
// Scheduler pulls the next task from its Listener (PullTask). kWait means none is ready yet:
// the owner calls Wake() when one may be; kEnd means none will come, and the Scheduler is
// done once every pulled task has finished. total() counts the tasks pulled so far (plus
// those finished in an earlier run), and is the job's total once the input has ended.
//
// Stragglers (Options::speculate, see speculation.h): an attempt running past the threshold
// gets ONE duplicate (same attempt number, another slot), dispatched before retries and new
// tasks. The first successful answer finishes the task; any other answer of a task that
// still has an attempt in flight is dropped, so a losing duplicate never consumes a --retries
// attempt. Attempts of finished tasks cannot be cancelled through Lambda; they keep their slot
// until they answer, their answers are discarded, and the job does not wait for them.
//
// Interrupts: Drain() and Abandon() below (cli/signal_stop.h has the user-facing behaviour).
// Halting: --halt now reports OnDone at once, abandoning running attempts (their results are
// dropped); --halt soon starts nothing new (no retries, no duplicates) and lets running
// attempts finish.
//
// Ownership: borrows everything passed to the constructor; they must outlive it. Callbacks
// that arrive after the Scheduler is destroyed are ignored.
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "driver/halt_policy.h"
#include "driver/invoker.h"
#include "driver/speculation.h"
#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

// One attempt of a task as the scheduler saw it.
struct TaskRecord {
  int64_t seq = 0;            // 1-based task number ({#})
  int slot = 0;               // {%}
  int attempt = 0;            // 1-based; counts against --retries
  int invocations = 0;        // invokes of this task so far (throttles, transport, duplicates)
  int64_t invocation = 0;     // the answering invocation's number, as given to the EventBuilder
  bool duplicate = false;     // this answer came from a speculative duplicate
  int64_t start_epoch_ms = 0;
  int64_t runtime_ms = 0;     // driver-side wall time of the attempt
  double cost_usd = 0;        // a finished task: what all its invocations cost (CostMeter)
  TaskResult result;
};

class Scheduler {
 public:
  struct Options {
    int jobs = 1;
    int initial_window = 0;  // 0: start at `jobs` (a backend may know a lower cap)
    int max_attempts = 1;
    int max_transport_retries = 8;
    int max_throttle_retries = 200;
    int64_t backoff_initial_ms = 100;
    int64_t backoff_max_ms = 10000;
    int64_t max_retry_after_ms = 60000;
    HaltPolicy halt;
    SpeculateOptions speculate;  // off by default here; `run` defaults to auto
    uint64_t seed = 0;           // jitter; 0: from std::random_device
    // The job's task count when known before it runs (inputs read whole; resumed jobs
    // included), for --halt percentages and the speculation threshold; -1: unknown (the
    // count so far is used).
    int64_t known_total = -1;
    // A budget (--max-cost, CostMeter::MayStart): whether one more invocation may start
    // beside `in_flight` running ones (duplicates and losers included). Asked before every
    // dispatch; a refusal with nothing in flight stops the job for good (OnBudgetStop). Null:
    // no budget.
    std::function<bool(int64_t in_flight)> may_start;
    // --delay: at least this long between two dispatches (first attempts, retries and
    // duplicates alike), as GNU parallel spaces job starts; 0: none.
    int64_t delay_ms = 0;
  };

  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnStart(int64_t /*seq*/, int /*attempt*/, int /*slot*/) {}
    // A duplicate of a running attempt was started.
    virtual void OnSpeculate(int64_t /*seq*/, int /*attempt*/, int /*slot*/) {}
    // An attempt ended without success and the task will run again.
    virtual void OnRetry(const TaskRecord& /*attempt*/) {}
    // An answer that neither finishes nor retries its task was dropped: a losing duplicate
    // (its task already finished), a failure while a sibling attempt still runs, or one
    // left unfinished by Drain(). Whatever that invocation stored is the listener's to clean.
    virtual void OnDropped(const TaskRecord& /*answer*/) {}
    // The task's final attempt ended (succeeded or not). Called once per finished task.
    virtual void OnFinish(const TaskRecord& rec) = 0;
    // The next new task: kTask with its number in *seq (numbers increase), kWait when none is
    // ready yet (Wake() follows when one may be), kEnd when no more will come (final).
    enum class Pull { kTask, kWait, kEnd };
    virtual Pull PullTask(int64_t* seq) = 0;
    // The budget refused to start anything more with nothing in flight: no invocation starts
    // again; the tasks not finished stay unfinished (a resume runs them). OnDone follows.
    virtual void OnBudgetStop() {}
    // The halt condition was met (`now`: OnDone follows at once).
    virtual void OnHalt(const std::string& /*why*/) {}
    // No task is running and none will start. Called exactly once; nothing follows.
    virtual void OnDone() = 0;
  };

  // Builds the event of task `seq` for `slot`. `invocation` numbers this Scheduler's
  // invocations 1, 2, 3, ... (every dispatch: a retry and a speculative duplicate each get
  // their own), so anything the event names per invocation (where its worker spills a result
  // or stores returned files) never collides with another invocation's; the answer's
  // TaskRecord::invocation says which one it was. An error finishes the task as
  // kStagingError.
  using EventBuilder =
      std::function<Result<TaskEvent>(int64_t seq, int slot, int64_t invocation)>;

  Scheduler(Options options, EventBuilder build, Invoker& invoker, Timers& timers,
            const Clock& clock, Listener& listener);
  ~Scheduler();

  void Start();
  // New tasks may be ready (after PullTask said kWait): pulls them while slots are free.
  void Wake();
  // Ctrl-C once: starts nothing new (no new tasks, retries or duplicates) and lets running
  // attempts finish. An attempt that ends in a way that would be retried leaves its task
  // unfinished (not reported), so a resumed job runs it again. No OnHalt. Idempotent.
  void Drain();
  // Ctrl-C twice / SIGTERM: OnDone at once (unless done); running attempts are abandoned and
  // their results dropped. Idempotent.
  void Abandon();
  bool draining() const { return draining_; }

  // Resume (run --resume), before Start(): tasks that finished in an earlier run of the job
  // (the Listener never pulls them) count as succeeded or failed (for --halt and the exit
  // status).
  void CountFinishedEarlier(int64_t succeeded, int64_t failed);
  // Resume: task `seq` finished outside the Scheduler (collected from the async inbox) and is
  // never pulled; it counts like CountFinishedEarlier.
  void CountFinishedOutside(bool succeeded) { CountFinishedEarlier(succeeded ? 1 : 0, succeeded ? 0 : 1); }
  // Resume, before Start(): task `seq` already used attempts; its next attempt is `attempt`
  // and `invocations` earlier invokes are counted in its record.
  void RestoreTask(int64_t seq, int attempt, int invocations);

  // Options::known_total, else the tasks pulled so far plus those finished earlier (the
  // job's total once input_ended()).
  int64_t total() const { return opt_.known_total >= 0 ? opt_.known_total : pulled_ + earlier_; }
  bool input_ended() const { return input_ended_; }
  int64_t running() const { return running_ - orphans_; }  // attempts of unfinished tasks
  int64_t succeeded() const { return succeeded_; }
  int64_t failed() const { return failed_; }
  int64_t finished() const { return succeeded_ + failed_; }
  int64_t retried() const { return retried_; }        // answers followed by another attempt
  int64_t throttled() const { return throttled_; }    // 429 answers
  int64_t speculated() const { return speculated_; }  // duplicates launched
  int64_t discarded() const { return discarded_; }    // answers dropped (losers, siblings)
  int window() const { return static_cast<int>(window_); }
  int min_window() const { return min_window_; }      // smallest window so far
  bool halted() const { return halted_; }
  bool budget_stopped() const { return budget_stopped_; }
  bool done() const { return done_; }

 private:
  struct TaskState {
    int attempt = 1;
    int transport_retries = 0;
    int throttle_retries = 0;
    int invocations = 0;
    int in_flight = 0;
    bool speculated = false;  // the current attempt has had its duplicate
  };
  struct Flight {
    int64_t seq;
    int slot;
    int attempt;
    bool duplicate;
    int64_t start_epoch_ms;
    int64_t start_us;
  };
  void Fill();
  // --delay's answer: false (and a Wake() armed for when it is up) while the last dispatch
  // is more recent than delay_ms.
  bool DelayAllows();
  bool BudgetAllows();  // the budget's answer; stops the job when it refuses with none in flight
  void Dispatch(int64_t seq, bool duplicate);
  void OnResult(int64_t flight, TaskResult r);
  void Requeue(int64_t seq, int64_t delay_ms);
  void Finish(const TaskRecord& rec);
  void MaybeDone();
  int64_t Backoff(int n, int64_t retry_after_ms);
  void OnThrottle(int64_t flight);
  void OnAnswered();
  void CheckStragglers();
  int64_t StragglerThresholdMs() const;
  void AddDuration(int64_t ms);

  Options opt_;
  EventBuilder build_;
  Invoker& invoker_;
  Timers& timers_;
  const Clock& clock_;
  Listener& listener_;
  std::mt19937_64 rng_;

  int64_t pulled_ = 0;                            // new tasks pulled from the listener
  int64_t earlier_ = 0;                           // resume: finished outside the Scheduler
  bool input_ended_ = false;                      // PullTask said kEnd
  bool waiting_ = false;                          // PullTask said kWait
  bool in_fill_ = false;
  std::unordered_map<int64_t, TaskState> restored_;  // resume: attempts used earlier
  std::unordered_map<int64_t, TaskState> tasks_;  // started and not finished
  std::map<int64_t, Flight> flights_;             // running attempts, by dispatch order
  int64_t next_flight_ = 0;
  std::deque<int64_t> ready_;        // retries waiting for a slot
  std::deque<int64_t> duplicates_;   // stragglers waiting for a slot for their duplicate
  std::vector<int> free_slots_;
  int64_t running_ = 0;
  int64_t orphans_ = 0;              // running attempts of finished tasks
  int64_t delayed_ = 0;              // retries waiting on a back-off timer
  double window_ = 1;
  int64_t decrease_mark_ = 0;        // flights up to this id saw the window before the last cut
  int64_t increase_count_ = 0;
  int min_window_ = 1;
  // Succeeded durations, for the median: max-heap of the lower half, min-heap of the upper.
  std::priority_queue<int64_t> lower_;
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<>> upper_;
  int64_t succeeded_ = 0, failed_ = 0, retried_ = 0, throttled_ = 0, speculated_ = 0,
          discarded_ = 0;
  bool budget_stopped_ = false;
  int64_t last_dispatch_us_ = -1;  // --delay
  bool delay_armed_ = false;
  bool halted_ = false, halt_now_ = false, done_ = false, started_ = false, draining_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parallelagram::driver
