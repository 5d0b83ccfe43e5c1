// Future<T>: the result of one call (Executor::Call/Map/Run, executor.h), and TaskError, what a
// call that did not succeed carries.
//
// A Future is a cheap, copyable handle on the call's shared state; every method is
// thread-safe, and get() may be called more than once (each call decodes the result again).
// The executor completes the state from its own thread; waiting never blocks the job.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "parallelagram/function.h"
#include "parallelagram/task.h"

namespace parallelagram {

// What a process task (Executor::Run) gives back, as a CLI task's manifest line has it.
struct ProcessResult {
  int exit_code = 0;
  std::string stdout_data;  // raw bytes
  std::string stderr_data;
  // Files brought back (ProcessOptions::returns), as local paths relative to the current
  // directory (where GNU parallel's --return puts them); missing ones are left out.
  std::vector<std::string> returned;
};

// A call that did not succeed: the function threw, crashed, ran out of time or memory, was
// never run (cancelled, the job could not start), or its result did not decode.
class TaskError : public std::runtime_error {
 public:
  struct Details {
    Outcome outcome = Outcome::kFailed;  // how the last attempt ended (task.h)
    bool ran = true;                     // false: the call never ran (cancelled, not started)
    std::string function;                // the function's name, or the process's argv[0]
    std::string error_type;              // the C++ type of what the function threw, if it did
    std::string message;                 // its what(), or why the task ended as it did
    int attempts = 0;                    // attempts made (--retries counts them)
    std::optional<int> exit_code;        // a process's exit code, when it exited
    std::string stderr_tail;             // the last 4 KB of stderr (and the Lambda log tail)
    int64_t task_number = 0;             // the task's number in the job ({#}); 0 if never sent
  };
  explicit TaskError(Details d);
  const Details& details() const { return d_; }
  Outcome outcome() const { return d_.outcome; }

 private:
  Details d_;
};

// get()'s non-throwing twin: the value, or the TaskError get() would throw.
template <class T>
class CallResult {
 public:
  using Value = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  explicit CallResult(Value v) : v_(std::move(v)) {}
  explicit CallResult(TaskError e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  // Precondition: ok() / !ok().
  Value& value() { return std::get<0>(v_); }
  const TaskError& error() const { return std::get<1>(v_); }

 private:
  std::variant<Value, TaskError> v_;
};

namespace detail {

class CallState;  // the executor's; every access goes through these (thread-safe) functions
void Wait(const CallState& s);
bool WaitFor(const CallState& s, std::chrono::nanoseconds d);
bool Ready(const CallState& s);
int64_t TaskNumber(const CallState& s);
// After Wait: the call's result bytes, or null when it failed (then Error() says why).
const std::string* Value(const CallState& s);
const ProcessResult* Process(const CallState& s);
TaskError Error(const CallState& s);
// A TaskError for a result that would not decode into `type`.
TaskError DecodeError(const CallState& s, const std::string& type, const std::string& why);

// The futures of `states`, yielded in the order they finish (AsCompleted).
class CompletionOrder {
 public:
  explicit CompletionOrder(const std::vector<std::shared_ptr<CallState>>& states);
  ~CompletionOrder();
  CompletionOrder(const CompletionOrder&) = delete;
  CompletionOrder& operator=(const CompletionOrder&) = delete;
  // The index of the next one to finish (blocking), or nullopt once all were yielded.
  std::optional<size_t> Next();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace detail

template <class T>
class Future {
 public:
  Future() = default;  // not valid(): every other method needs a future from an Executor

  // Blocks until the call ended; its result, or throws TaskError.
  T get() const {
    detail::Wait(*s_);
    if constexpr (std::is_same_v<T, ProcessResult>) {
      if (const ProcessResult* p = detail::Process(*s_)) return *p;
      throw detail::Error(*s_);
    } else {
      const std::string* bytes = detail::Value(*s_);
      if (!bytes) throw detail::Error(*s_);
      try {
        if constexpr (std::is_void_v<T>) {
          return;
        } else {
          return detail::DecodeValue<T>(*bytes);
        }
      } catch (const std::exception& e) {
        throw detail::DecodeError(*s_, detail::TypeName<T>(), e.what());
      }
    }
  }
  // get() without throwing.
  CallResult<T> result() const {
    try {
      if constexpr (std::is_void_v<T>) {
        get();
        return CallResult<T>(std::monostate{});
      } else {
        return CallResult<T>(get());
      }
    } catch (const TaskError& e) {
      return CallResult<T>(e);
    }
  }
  void wait() const { detail::Wait(*s_); }
  // True when the call ended within `d`.
  template <class Rep, class Period>
  bool wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return detail::WaitFor(*s_, std::chrono::duration_cast<std::chrono::nanoseconds>(d));
  }
  bool ready() const { return detail::Ready(*s_); }
  bool valid() const { return s_ != nullptr; }
  // The task's number in the executor's job ({#}; its line in `parallelagram results`).
  int64_t task_number() const { return detail::TaskNumber(*s_); }

  // For the executor (and AsCompleted): the shared state.
  explicit Future(std::shared_ptr<detail::CallState> s) : s_(std::move(s)) {}
  const std::shared_ptr<detail::CallState>& state() const { return s_; }

 private:
  std::shared_ptr<detail::CallState> s_;
};

// Yields the futures of `fs` in the order their calls finish (each once):
//   for (Future<Stats>& f : AsCompleted(fs)) Use(f.get());
// `fs` must outlive the iteration and not change size meanwhile. Thread-compatible: one
// thread iterates.
template <class T>
class AsCompleted {
 public:
  explicit AsCompleted(std::vector<Future<T>>& fs) : fs_(fs), order_(States(fs)) {}
  // The next future to finish, or null when every one was yielded.
  Future<T>* Next() {
    std::optional<size_t> i = order_.Next();
    return i ? &fs_[*i] : nullptr;
  }

  class iterator {
   public:
    using value_type = Future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(AsCompleted* a) : a_(a), cur_(a->Next()) {}
    Future<T>& operator*() const { return *cur_; }
    iterator& operator++() {
      cur_ = a_->Next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& o) const { return cur_ == o.cur_; }

   private:
    AsCompleted* a_ = nullptr;
    Future<T>* cur_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  static std::vector<std::shared_ptr<detail::CallState>> States(std::vector<Future<T>>& fs) {
    std::vector<std::shared_ptr<detail::CallState>> v;
    v.reserve(fs.size());
    for (const auto& f : fs) v.push_back(f.state());
    return v;
  }
  std::vector<Future<T>>& fs_;
  detail::CompletionOrder order_;
};

}  // namespace parallelagram
