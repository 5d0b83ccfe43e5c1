// Clock: the time seam. Real code uses SystemClock; tests use FakeClock.
#pragma once
#include <cstdint>

namespace parallelagram {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall clock; used for deadlines that cross processes).
  virtual int64_t NowEpochMs() const = 0;
  // Monotonic microseconds from an arbitrary origin (for durations).
  virtual int64_t NowMonoUs() const = 0;
};

// Thread-safe; the process-wide instance is SystemClock::Get().
class SystemClock : public Clock {
 public:
  static SystemClock& Get();
  int64_t NowEpochMs() const override;
  int64_t NowMonoUs() const override;
};

// Not thread-safe; a test advances it by hand.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t epoch_ms = 1700000000000) : epoch_ms_(epoch_ms) {}
  int64_t NowEpochMs() const override { return epoch_ms_ + mono_us_ / 1000; }
  int64_t NowMonoUs() const override { return mono_us_; }
  void AdvanceMs(int64_t ms) { mono_us_ += ms * 1000; }

 private:
  int64_t epoch_ms_;
  int64_t mono_us_ = 0;
};

}  // namespace parallelagram
