// FakeProcessRunner: a scripted ProcessRunner for unit tests of the task handlers.
// Records every spec it was given and answers with the queued outcomes in order (a
// default, successful outcome when the queue is empty). Not thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "os/process_runner.h"

namespace parallelagram::os {

class FakeProcessRunner : public ProcessRunner {
 public:
  // Called with each spec before answering (e.g. to create files in spec.cwd).
  std::function<void(const ProcessSpec&)> on_run;

  void Push(ProcessOutcome o) { queue_.push_back(std::move(o)); }
  const std::vector<ProcessSpec>& specs() const { return specs_; }

  Result<ProcessOutcome> Run(const ProcessSpec& spec) override {
    specs_.push_back(spec);
    if (on_run) on_run(spec);
    if (queue_.empty()) {
      ProcessOutcome o;
      o.started = true;
      o.exit_code = 0;
      return o;
    }
    ProcessOutcome o = std::move(queue_.front());
    queue_.pop_front();
    return o;
  }

 private:
  std::deque<ProcessOutcome> queue_;
  std::vector<ProcessSpec> specs_;
};

}  // namespace parallelagram::os
