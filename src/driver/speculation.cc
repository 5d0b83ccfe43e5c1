#include "driver/speculation.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace parallelagram::driver {

Result<SpeculateOptions> SpeculateOptions::Parse(const std::string& spec) {
  SpeculateOptions o;
  if (spec == "off") return o;
  if (spec == "auto") {
    o.mode = Mode::kAuto;
    return o;
  }
  char* end = nullptr;
  double s = std::strtod(spec.c_str(), &end);
  if (spec.empty() || *end != '\0' || !std::isfinite(s) || s <= 0 || s > 900) {
    return Status::InvalidArgument("--speculate takes 'auto', 'off' or seconds (more than 0, at "
                                   "most 900), not '" + spec + "'");
  }
  o.mode = Mode::kDeadline;
  o.deadline_ms = std::max<int64_t>(1, static_cast<int64_t>(std::llround(s * 1000)));
  return o;
}

}  // namespace parallelagram::driver
