// --halt, as GNU parallel spells it: `now|soon,fail|success=N|N%`, or the shorthands
// `never` (the default). `now` stops at once (running tasks are abandoned and reported as
// not finished), `soon` lets running tasks finish but starts no new ones.
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

struct HaltPolicy {
  enum class When { kNever, kNow, kSoon };
  When when = When::kNever;
  bool on_failure = true;  // fail=..., else success=...
  int64_t count = 0;       // halt when this many matching tasks finished (if percent == 0)
  double percent = 0;      // or when this % of all tasks matched (and at least 1 task)

  // Parses "never", "now,fail=1", "soon,fail=10%", "now,success=3", "now,done=..." is not
  // supported. InvalidArgument names the accepted forms.
  static Result<HaltPolicy> Parse(const std::string& spec);

  // True when, after a task finished, the job must halt. `total` is the job's task count.
  bool ShouldHalt(int64_t failed, int64_t succeeded, int64_t total) const;
};

}  // namespace parallelagram::driver
