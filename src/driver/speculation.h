// --speculate [auto|off|SECONDS]: when the Scheduler launches ONE duplicate of a straggling
// task attempt (the first finisher wins; the loser's result is discarded).
//
//   off      never.
//   auto     once `min_completed` tasks have succeeded (or half the job, if that is fewer), an
//            attempt running longer than max(floor_ms, factor x the median succeeded
//            duration) gets a duplicate. The default of `parallelagram run`.
//   SECONDS  an attempt running longer than SECONDS gets a duplicate.
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

struct SpeculateOptions {
  enum class Mode { kOff, kAuto, kDeadline };
  Mode mode = Mode::kOff;
  int64_t deadline_ms = 0;     // kDeadline
  double factor = 3;           // kAuto: k x the median succeeded duration
  int64_t floor_ms = 5000;     // kAuto: never sooner than this (cold starts, jitter)
  int64_t min_completed = 20;  // kAuto: successes needed before the median is trusted
  int64_t check_ms = 200;      // how often running attempts are looked at

  // Parses "auto", "off" or SECONDS (> 0, at most 900). InvalidArgument, one line, otherwise.
  static Result<SpeculateOptions> Parse(const std::string& spec);
};

}  // namespace parallelagram::driver
