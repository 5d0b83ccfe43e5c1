// Test doubles for the driver: a virtual-time Loop and a scripted Invoker.
// Header-only, for *_test.cc files. Not thread-safe.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/invoker.h"

namespace parallelagram::driver::testing {

// Everything written to the temporary file `f` (from its start); closes `f`.
inline std::string ReadAndClose(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

// Runs timers in virtual time order, advancing a FakeClock.
class FakeLoop : public Loop {
 public:
  explicit FakeLoop(FakeClock& clock) : clock_(clock) {}
  void After(int64_t delay_ms, std::function<void()> fn) override {
    timers_.emplace(std::make_pair(now_ms_ + std::max<int64_t>(0, delay_ms), seq_++), std::move(fn));
  }
  void Run() override {
    stopped_ = false;
    while (!stopped_ && !timers_.empty()) {
      auto it = timers_.begin();
      int64_t at = it->first.first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      if (at > now_ms_) {
        clock_.AdvanceMs(at - now_ms_);
        now_ms_ = at;
      }
      fn();
    }
  }
  void Stop() override { stopped_ = true; }
  int64_t now_ms() const { return now_ms_; }
  size_t pending() const { return timers_.size(); }

 private:
  FakeClock& clock_;
  int64_t now_ms_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> timers_;
};

// Answers each Invoke after a scripted delay with a scripted result. `script` gets the event
// and the attempt number for that task_id (1-based) and returns {delay_ms, result}.
class FakeInvoker : public Invoker {
 public:
  using Script = std::function<std::pair<int64_t, TaskResult>(const TaskEvent&, int attempt)>;
  FakeInvoker(Timers& timers, Script script) : timers_(timers), script_(std::move(script)) {}
  void Invoke(TaskEvent event, std::function<void(TaskResult)> done) override {
    int attempt = ++attempts_[event.task_id];
    ++calls;
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    events.push_back(event);
    auto [delay, result] = script_(event, attempt);
    result.task_id = event.task_id;
    timers_.After(delay, [this, done = std::move(done), result = std::move(result)]() mutable {
      --in_flight;
      done(std::move(result));
    });
  }
  int calls = 0;
  int in_flight = 0;
  int max_in_flight = 0;
  std::vector<TaskEvent> events;

 private:
  Timers& timers_;
  Script script_;
  std::map<std::string, int> attempts_;
};

inline TaskResult Exited(int code, std::string out = "", std::string err = "") {
  TaskResult r;
  r.outcome = code == 0 ? Outcome::kSucceeded : Outcome::kFailed;
  r.exit_code = code;
  r.stdout_bytes = out.size();
  r.stderr_bytes = err.size();
  r.stdout_data = std::move(out);
  r.stderr_data = std::move(err);
  return r;
}

inline TaskResult WithOutcome(Outcome o, std::string error = "") {
  TaskResult r;
  r.outcome = o;
  r.error = std::move(error);
  return r;
}

}  // namespace parallelagram::driver::testing
