// IoLoopDriver: the driver's Loop on http's IoLoop (timers, Run until Stop).
// Borrows `loop`, which must outlive it. Loop thread only.
#pragma once

#include "driver/backend.h"
#include "http/io_loop.h"

namespace parallelagram::driver {

class IoLoopDriver : public Loop {
 public:
  explicit IoLoopDriver(IoLoop& loop) : loop_(loop) {}
  void After(int64_t delay_ms, std::function<void()> fn) override {
    loop_.AddTimer(delay_ms, std::move(fn));
  }
  void Run() override { loop_.Run(); }
  void Stop() override { loop_.Stop(); }
  void Post(std::function<void()> fn) override { loop_.Post(std::move(fn)); }
  IoLoop& loop() { return loop_; }

 private:
  IoLoop& loop_;
};

}  // namespace parallelagram::driver
