#include "api/call_state.h"

namespace parallelagram {

namespace {

std::string ErrorText(const TaskError::Details& d) {
  std::string s = d.function.empty() ? "task" : d.function;
  if (d.task_number > 0) s += " (task " + std::to_string(d.task_number) + ")";
  if (!d.ran) return s + " did not run: " + d.message;
  s += std::string(" ") + OutcomeName(d.outcome);
  if (!d.error_type.empty()) s += ": " + d.error_type;
  if (!d.message.empty()) s += ": " + d.message;
  if (d.attempts > 1) s += " (after " + std::to_string(d.attempts) + " attempts)";
  return s;
}

}  // namespace

TaskError::TaskError(Details d) : std::runtime_error(ErrorText(d)), d_(std::move(d)) {}

namespace detail {

void CallState::SetTaskNumber(int64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  task_number_ = n;
}

int64_t CallState::task_number() const {
  std::lock_guard<std::mutex> l(mu_);
  return task_number_;
}

template <class F>
void CallState::Complete(F set) {
  std::vector<std::pair<std::weak_ptr<CompletionSink>, size_t>> sinks;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (done_) return;
    set();
    done_ = true;
    sinks.swap(sinks_);
  }
  cv_.notify_all();
  for (auto& [weak, index] : sinks) {
    if (auto sink = weak.lock()) sink->Push(index);
  }
}

void CallState::Succeed(std::string bytes) {
  Complete([&] { value_ = std::move(bytes); });
}

void CallState::SucceedProcess(ProcessResult p) {
  Complete([&] { process_ = std::move(p); });
}

void CallState::Fail(TaskError::Details d) {
  Complete([&] {
    if (d.function.empty()) d.function = what_;
    if (d.task_number == 0) d.task_number = task_number_;
    error_ = std::move(d);
  });
}

void CallState::Subscribe(const std::shared_ptr<CompletionSink>& sink, size_t index) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!done_) {
      sinks_.emplace_back(sink, index);
      return;
    }
  }
  sink->Push(index);
}

void CallState::Wait() const {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return done_; });
}

bool CallState::WaitFor(std::chrono::nanoseconds d) const {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, d, [this] { return done_; });
}

bool CallState::Ready() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_;
}

// ---- future.h's access functions ----

void Wait(const CallState& s) { s.Wait(); }
bool WaitFor(const CallState& s, std::chrono::nanoseconds d) { return s.WaitFor(d); }
bool Ready(const CallState& s) { return s.Ready(); }
int64_t TaskNumber(const CallState& s) { return s.task_number(); }
const std::string* Value(const CallState& s) { return s.value(); }
const ProcessResult* Process(const CallState& s) { return s.process(); }
TaskError Error(const CallState& s) { return TaskError(s.error()); }

TaskError DecodeError(const CallState& s, const std::string& type, const std::string& why) {
  TaskError::Details d;
  d.outcome = Outcome::kFailed;
  d.function = s.what();
  d.error_type = "parallelagram::ArgumentError";
  d.message = "its result does not deserialise into " + type + " (" + why + ")";
  d.attempts = 1;
  d.task_number = s.task_number();
  return TaskError(std::move(d));
}

struct CompletionOrder::Impl {
  std::shared_ptr<CompletionSink> sink = std::make_shared<CompletionSink>();
  size_t remaining = 0;
};

CompletionOrder::CompletionOrder(const std::vector<std::shared_ptr<CallState>>& states)
    : impl_(std::make_shared<Impl>()) {
  impl_->remaining = states.size();
  for (size_t i = 0; i < states.size(); ++i) states[i]->Subscribe(impl_->sink, i);
}

CompletionOrder::~CompletionOrder() = default;

std::optional<size_t> CompletionOrder::Next() {
  if (impl_->remaining == 0) return std::nullopt;
  CompletionSink& s = *impl_->sink;
  std::unique_lock<std::mutex> l(s.mu);
  s.cv.wait(l, [&s] { return !s.finished.empty(); });
  const size_t i = s.finished.front();
  s.finished.pop_front();
  --impl_->remaining;
  return i;
}

}  // namespace detail
}  // namespace parallelagram
