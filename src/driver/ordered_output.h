// OrderedOutput: prints each finished task's output whole, in completion order, or with
// keep_order (-k) in input order: task N's output waits until tasks 1..N-1 have printed.
// Tasks that never finish (a halted job) leave gaps that Flush() skips.
// Not thread-safe; loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

namespace parallelagram::driver {

class OrderedOutput {
 public:
  explicit OrderedOutput(bool keep_order) : keep_order_(keep_order) {}
  // `print` writes task `seq`'s output; called now or once earlier tasks have printed.
  void Add(int64_t seq, std::function<void()> print);
  // Prints everything still held, in order.
  void Flush();
  size_t held() const { return held_.size(); }

 private:
  bool keep_order_;
  int64_t next_ = 1;
  std::map<int64_t, std::function<void()>> held_;
};

}  // namespace parallelagram::driver
