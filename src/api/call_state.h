// CallState: the shared state behind a Future (parallelagram/future.h). The executor creates
// it, numbers it when the task is submitted, and completes it exactly once (Succeed,
// SucceedProcess or Fail) from its job's thread; futures wait on it from any thread.
// Thread-safety: every method is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parallelagram/future.h"

namespace parallelagram::detail {

// Where AsCompleted learns that a call finished: the indexes of finished calls, in order.
struct CompletionSink {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<size_t> finished;
  void Push(size_t index) {
    {
      std::lock_guard<std::mutex> l(mu);
      finished.push_back(index);
    }
    cv.notify_all();
  }
};

class CallState {
 public:
  // `what`: the function's name, or the process's argv[0]; `process`: a process task's
  // (completed by SucceedProcess), else a function call's (by Succeed).
  CallState(std::string what, bool process) : what_(std::move(what)), process_task_(process) {}
  const std::string& what() const { return what_; }
  bool is_process() const { return process_task_; }

  void SetTaskNumber(int64_t n);
  int64_t task_number() const;
  // Each completes the call (the first one wins; later ones are ignored).
  void Succeed(std::string bytes);
  void SucceedProcess(ProcessResult p);
  void Fail(TaskError::Details d);
  // Tells `sink` (by `index`) when the call finishes: at once if it has.
  void Subscribe(const std::shared_ptr<CompletionSink>& sink, size_t index);

  void Wait() const;
  bool WaitFor(std::chrono::nanoseconds d) const;
  bool Ready() const;
  // After Wait(): the outcome.
  const std::string* value() const { return value_ ? &*value_ : nullptr; }
  const ProcessResult* process() const { return process_ ? &*process_ : nullptr; }
  const TaskError::Details& error() const { return error_; }

 private:
  template <class F>
  void Complete(F set);

  const std::string what_;
  const bool process_task_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
  int64_t task_number_ = 0;
  std::optional<std::string> value_;
  std::optional<ProcessResult> process_;
  TaskError::Details error_;
  std::vector<std::pair<std::weak_ptr<CompletionSink>, size_t>> sinks_;
};

}  // namespace parallelagram::detail
