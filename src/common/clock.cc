#include "common/clock.h"

#include <chrono>

namespace parallelagram {

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

int64_t SystemClock::NowEpochMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::NowMonoUs() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace parallelagram
