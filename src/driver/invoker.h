// Invoker: runs one task attempt somewhere (a Lambda function, local or on AWS) and reports
// how it ended. The scheduler knows nothing else about backends.
//
// Contract of Invoke(): `done` is called exactly once, on the driver's loop thread, never
// from inside Invoke(). Failures of the invocation itself are results too, classified in
// TaskResult::outcome: kThrottled (429: the task did not run), kTransport (connection
// failure or 5xx: it may or may not have run), kCrashed (the worker or environment died),
// kTimedOut (the function's timeout). `error` then says what happened.
//
// Timers: the loop's timers as the scheduler needs them (retry back-off, progress ticks).
#pragma once

#include <cstdint>
#include <functional>

#include "parallelagram/task.h"

namespace parallelagram::driver {

class Invoker {
 public:
  virtual ~Invoker() = default;
  virtual void Invoke(TaskEvent event, std::function<void(TaskResult)> done) = 0;
};

class Timers {
 public:
  virtual ~Timers() = default;
  // Calls `fn` on the loop thread after `delay_ms` (0: soon, never from inside After()).
  virtual void After(int64_t delay_ms, std::function<void()> fn) = 0;
};

}  // namespace parallelagram::driver
