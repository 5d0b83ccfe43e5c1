// IoLoop: one thread's loop driving libcurl multi transfers and timers.
//
// It uses libcurl's socket interface (curl_multi_socket_action) on an epoll set,
// so the cost of an iteration does not grow with the number of transfers in flight.
//
// Thread-safety: every method must be called on the loop's thread (the thread
// that calls Run/RunOnce), except Post(), which any thread may call to run a
// function on the loop.
// Ownership: the loop owns the CURLM handle; HttpClient instances borrow it,
// and must be destroyed before the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

typedef void CURLM;
typedef void CURL;

namespace parallelagram {

class IoLoop {
 public:
  using TimerId = uint64_t;

  IoLoop();
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Calls `fn` on the loop thread after `delay_ms` (0: next iteration).
  TimerId AddTimer(int64_t delay_ms, std::function<void()> fn);
  // Cancels a timer that has not fired yet; a no-op otherwise.
  void CancelTimer(TimerId id);

  // Runs one iteration: waits at most `max_wait_ms` for I/O or a timer, then
  // completes finished transfers and fires due timers (their callbacks run here).
  void RunOnce(int max_wait_ms);
  // Runs until Stop() is called or nothing is pending (no transfers, no timers,
  // no posted functions).
  void Run();
  // Makes Run() return after the current iteration.
  void Stop();
  // Thread-safe: runs `fn` on the loop thread soon, waking a blocked RunOnce.
  void Post(std::function<void()> fn);

  // Number of transfers in flight (for tests and progress): libcurl's plus the
  // operations other I/O sources announced with AddPending().
  int active_transfers() const;

  // For I/O sources other than libcurl (Http1Client's sockets). A watcher is
  // borrowed: it must stay alive until UnwatchFd(fd). Its OnFdReady runs on the
  // loop thread with the epoll bits that fired (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/
  // EPOLLRDHUP); a callback may be spurious, so the watcher must cope with EAGAIN.
  class FdWatcher {
   public:
    virtual void OnFdReady(uint32_t events) = 0;

   protected:
    ~FdWatcher() = default;
  };
  // Watches `fd` (level-triggered) for `events`, or changes the events of a watched fd.
  void WatchFd(int fd, uint32_t events, FdWatcher* watcher);
  // Stops watching `fd`; call it before closing the fd. A no-op for unknown fds.
  void UnwatchFd(int fd);
  // Adds `delta` to the count of operations in flight that are not libcurl
  // transfers; Run() keeps running while it is above zero.
  void AddPending(int delta);

  // For HttpClient: the multi handle (to set CURLMOPT_* limits).
  CURLM* multi();
  // For HttpClient: starts `easy` (fully configured, owned by the caller). When
  // it finishes, the loop removes it from the multi handle and calls
  // `done(CURLcode)` on the loop thread; the caller may then reuse or free it.
  void AddTransfer(CURL* easy, std::function<void(int curl_code)> done);
  // For HttpClient: abandons a transfer started with AddTransfer; its `done`
  // is destroyed without being called. A no-op for unknown handles.
  void CancelTransfer(CURL* easy);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit (each
// request in flight holds a socket). Returns the new soft limit. Call once at
// start; safe to call again.
uint64_t RaiseFileDescriptorLimit();

}  // namespace parallelagram
