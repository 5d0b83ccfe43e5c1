// EventLoop: one thread's loop driving libcurl multi transfers and timers.
//
// Thread-safety: every method must be called on the loop's thread, except
// Post(), which any thread may call to run a function on the loop.
// Ownership: the loop owns the CURLM handle; HttpClient instances borrow it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

typedef void CURLM;

namespace parallelagram {

class EventLoop {
 public:
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `fn` on the loop thread after `delay_ms` (0: next iteration).
  TimerId AddTimer(int64_t delay_ms, std::function<void()> fn);
  // Cancels a timer that has not fired yet; a no-op otherwise.
  void CancelTimer(TimerId id);

  // Runs one iteration: waits at most `max_wait_ms` for I/O or a timer, then
  // completes finished transfers and fires due timers (their callbacks run here).
  void RunOnce(int max_wait_ms);
  // Runs until Stop() is called or nothing is pending (no transfers, no timers).
  void Run();
  // Makes Run() return after the current iteration.
  void Stop();
  // Thread-safe: runs `fn` on the loop thread soon, waking a blocked RunOnce.
  void Post(std::function<void()> fn);

  // Number of transfers in flight (for tests and progress).
  int active_transfers() const;

  // For HttpClient: the multi handle, and the per-transfer completion hook.
  CURLM* multi();
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parallelagram
