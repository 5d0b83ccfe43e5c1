// ResultQueue: a JobObserver that hands each finished task to another thread (a library
// caller's): Pop() waits for the next one in finishing order and returns nullopt once the job
// has ended and everything was popped. Thread-safe: the job's loop thread pushes, any thread
// pops. Owns copies of what it queues.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "driver/job_observer.h"

namespace parallelagram::driver {

class ResultQueue : public JobObserver {
 public:
  struct Item {
    std::shared_ptr<const TaskRecord> rec;
    std::vector<std::string> args;
    std::string command;
  };
  void TaskFinished(std::shared_ptr<const TaskRecord> rec, const FinishedTask& ft) override;
  void JobEnded(const RunTotals& totals, int exit_status) override;
  // Marks the queue ended without a JobEnded (the job failed to start).
  void Close() { JobEnded({}, -1); }
  // The next finished task, waiting for it; nullopt once the job ended and all were popped.
  std::optional<Item> Pop();
  // The job's exit status once it ended (-1 before, and after Close()).
  int exit_status() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool ended_ = false;
  int exit_status_ = -1;
};

}  // namespace parallelagram::driver
