#include "local/fault_injection.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/json_text.h"

namespace parallelagram::local {

namespace {

constexpr FaultKind kKinds[] = {FaultKind::kThrottle, FaultKind::kServiceError,
                                FaultKind::kCrash,    FaultKind::kHang,
                                FaultKind::kSlowStart, FaultKind::kDuplicate};

const char* kUsage =
    "use KIND=P[,KIND=P...] with KIND one of throttle, service-error, crash, hang, slow-start, "
    "duplicate and P from 0 to 1 (also seed=N, log=PATH)";

}  // namespace

const char* FaultKindName(FaultKind k) {
  switch (k) {
    case FaultKind::kNone: return "none";
    case FaultKind::kThrottle: return "throttle";
    case FaultKind::kServiceError: return "service-error";
    case FaultKind::kCrash: return "crash";
    case FaultKind::kHang: return "hang";
    case FaultKind::kSlowStart: return "slow-start";
    case FaultKind::kDuplicate: return "duplicate";
  }
  return "none";
}

Result<FaultSpec> FaultSpec::Parse(const std::string& spec) {
  FaultSpec out;
  if (spec.empty()) return Status::InvalidArgument(std::string("--inject is empty; ") + kUsage);
  double sum = 0;
  size_t i = 0;
  while (i <= spec.size()) {
    size_t comma = spec.find(',', i);
    if (comma == std::string::npos) comma = spec.size();
    std::string item = spec.substr(i, comma - i);
    i = comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status::InvalidArgument("--inject item '" + item + "' is not KIND=P; " + kUsage);
    }
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "log") {
      out.log_path = value;
      continue;
    }
    if (key == "seed") {
      char* end = nullptr;
      errno = 0;
      unsigned long long s = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || errno != 0 || value[0] == '-' || s == 0) {
        return Status::InvalidArgument("--inject seed=" + value +
                                       " is not a whole number from 1 to 2^64-1");
      }
      out.seed = s;
      continue;
    }
    FaultKind kind = FaultKind::kNone;
    for (FaultKind k : kKinds) {
      if (key == FaultKindName(k)) kind = k;
    }
    if (kind == FaultKind::kNone) {
      return Status::InvalidArgument("--inject: unknown kind '" + key + "'; " + kUsage);
    }
    char* end = nullptr;
    double p = std::strtod(value.c_str(), &end);
    if (*end != '\0' || !std::isfinite(p) || p < 0 || p > 1) {
      return Status::InvalidArgument("--inject " + key + "=" + value +
                                     ": the probability must be a number from 0 to 1");
    }
    if (out.probability.count(kind)) {
      return Status::InvalidArgument("--inject names '" + key + "' twice; give each kind once");
    }
    out.probability[kind] = p;
    sum += p;
  }
  if (sum > 1 + 1e-9) {
    return Status::InvalidArgument("--inject probabilities add up to more than 1; lower them");
  }
  return out;
}

Result<std::shared_ptr<RandomFaultPolicy>> RandomFaultPolicy::Create(const FaultSpec& spec) {
  std::shared_ptr<RandomFaultPolicy> p(new RandomFaultPolicy(spec));
  p->rng_.seed(spec.seed != 0 ? spec.seed : std::random_device{}());
  if (!spec.log_path.empty()) {
    p->log_ = std::fopen(spec.log_path.c_str(), "a");
    if (!p->log_) {
      return Status::IoError("--inject log=" + spec.log_path +
                             " cannot be opened for appending: " + std::strerror(errno));
    }
  }
  return p;
}

RandomFaultPolicy::~RandomFaultPolicy() {
  if (log_) std::fclose(log_);
}

FaultKind RandomFaultPolicy::OnInvoke(std::string_view, std::string_view invocation_type) {
  if (spec_.probability.empty()) return FaultKind::kNone;
  double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  double acc = 0;
  for (FaultKind k : kKinds) {
    auto it = spec_.probability.find(k);
    if (it == spec_.probability.end()) continue;
    acc += it->second;
    if (u < acc) {
      if (k == FaultKind::kDuplicate && invocation_type != "Event") return FaultKind::kNone;
      return k;
    }
  }
  return FaultKind::kNone;
}

int64_t RandomFaultPolicy::RandomMs(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng_);
}

void RandomFaultPolicy::Injected(FaultKind kind, const std::string& request_id,
                                 const std::string& payload) {
  if (!log_) return;
  nlohmann::json line = {{"kind", FaultKindName(kind)}, {"request_id", request_id}};
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_object() && j.contains("task_id") && j["task_id"].is_string()) {
    line["task_id"] = j["task_id"];
  }
  std::string s = DumpLenient(line) + "\n";
  std::fwrite(s.data(), 1, s.size(), log_);
  std::fflush(log_);
}

}  // namespace parallelagram::local
