#include "driver/ordered_output.h"

namespace parallelagram::driver {

void OrderedOutput::Add(int64_t seq, std::function<void()> print) {
  if (!keep_order_) {
    print();
    return;
  }
  held_.emplace(seq, std::move(print));
  while (!held_.empty() && held_.begin()->first == next_) {
    auto fn = std::move(held_.begin()->second);
    held_.erase(held_.begin());
    ++next_;
    fn();
  }
}

void OrderedOutput::Flush() {
  for (auto& [seq, fn] : held_) fn();
  held_.clear();
}

}  // namespace parallelagram::driver
