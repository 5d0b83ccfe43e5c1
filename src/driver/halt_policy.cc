#include "driver/halt_policy.h"

#include <cstdlib>

namespace parallelagram::driver {

Result<HaltPolicy> HaltPolicy::Parse(const std::string& spec) {
  auto bad = [&] {
    return Status::InvalidArgument("--halt '" + spec +
                                   "' is not understood; use never, now,fail=N, soon,fail=N%, "
                                   "now,success=N (N a count or a percentage)");
  };
  HaltPolicy p;
  if (spec == "never" || spec == "0") return p;
  size_t comma = spec.find(',');
  if (comma == std::string::npos) return bad();
  std::string when = spec.substr(0, comma);
  std::string cond = spec.substr(comma + 1);
  if (when == "now" || when == "2") {
    p.when = When::kNow;
  } else if (when == "soon" || when == "1") {
    p.when = When::kSoon;
  } else {
    return bad();
  }
  size_t eq = cond.find('=');
  if (eq == std::string::npos) return bad();
  std::string kind = cond.substr(0, eq);
  std::string num = cond.substr(eq + 1);
  if (kind == "fail") {
    p.on_failure = true;
  } else if (kind == "success") {
    p.on_failure = false;
  } else {
    return bad();
  }
  bool pct = !num.empty() && num.back() == '%';
  if (pct) num.pop_back();
  if (num.empty()) return bad();
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (*end != '\0' || !(v > 0)) return bad();
  if (pct) {
    if (v > 100) return bad();
    p.percent = v;
  } else {
    if (v != static_cast<double>(static_cast<int64_t>(v))) return bad();
    p.count = static_cast<int64_t>(v);
  }
  return p;
}

bool HaltPolicy::ShouldHalt(int64_t failed, int64_t succeeded, int64_t total) const {
  if (when == When::kNever) return false;
  int64_t n = on_failure ? failed : succeeded;
  if (n == 0) return false;
  if (percent > 0) return total > 0 && 100.0 * static_cast<double>(n) >= percent * static_cast<double>(total);
  return n >= count;
}

}  // namespace parallelagram::driver
