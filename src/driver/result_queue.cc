#include "driver/result_queue.h"

namespace parallelagram::driver {

void ResultQueue::TaskFinished(std::shared_ptr<const TaskRecord> rec, const FinishedTask& ft) {
  {
    std::lock_guard<std::mutex> l(mu_);
    items_.push_back(Item{std::move(rec), ft.args, ft.command});
  }
  cv_.notify_all();
}

void ResultQueue::JobEnded(const RunTotals& /*totals*/, int exit_status) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ended_ = true;
    exit_status_ = exit_status;
  }
  cv_.notify_all();
}

std::optional<ResultQueue::Item> ResultQueue::Pop() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return ended_ || !items_.empty(); });
  if (items_.empty()) return std::nullopt;
  Item it = std::move(items_.front());
  items_.pop_front();
  return it;
}

int ResultQueue::exit_status() const {
  std::lock_guard<std::mutex> l(mu_);
  return exit_status_;
}

}  // namespace parallelagram::driver
