// Fault injection for the local Lambda service: `local-lambda --inject KIND=P[,KIND=P...]`,
// and the embedded backend of `parallelagram run --backend local` through the environment
// variable PARALLELAGRAM_LOCAL_INJECT (same grammar).
//
// Spec grammar: comma-separated items, each KIND=P with P a probability from 0 to 1 (the
// probabilities add up to at most 1), or `seed=N` (a reproducible sequence; default: random),
// or `log=PATH` (append one JSON line per injected fault: {"kind","request_id","task_id"},
// task_id taken from the event's "task_id" field when it has one). Kinds, drawn once per
// Invoke request:
//   throttle       429 TooManyRequestsException (Reason ConcurrentInvocationLimitExceeded,
//                  "Rate Exceeded.", Retry-After: 1), as AWS answers: the function does not run
//   service-error  500 ServiceException before anything runs
//   crash          the execution environment is SIGKILLed mid-task (within 50 ms of the
//                  event's delivery, or when the runtime posts its answer, whichever is
//                  first): Runtime.ExitError
//   hang           the runtime's answer is swallowed, so the function's timeout ends the
//                  invocation: Sandbox.Timedout
//   slow-start     the invocation gets a fresh execution environment whose init is delayed
//                  1-2 s (an idle environment of the function, if any, is recycled)
//   duplicate      Event invocations only: the event is delivered twice (same request id), as
//                  Lambda's at-least-once delivery can
//
// Thread-safety: a FaultPolicy is used on the service thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "local/local_lambda.h"
#include "parallelagram/status.h"

namespace parallelagram::local {

inline constexpr const char* kInjectEnvVar = "PARALLELAGRAM_LOCAL_INJECT";

const char* FaultKindName(FaultKind k);  // "throttle", "service-error", ... ("none")

struct FaultSpec {
  std::map<FaultKind, double> probability;
  uint64_t seed = 0;  // 0: random
  std::string log_path;

  // Parses the grammar above. InvalidArgument, one line naming the bad item, otherwise.
  static Result<FaultSpec> Parse(const std::string& spec);
};

class RandomFaultPolicy : public FaultPolicy {
 public:
  // Opens spec.log_path for appending, if set. Errors: IoError.
  static Result<std::shared_ptr<RandomFaultPolicy>> Create(const FaultSpec& spec);
  ~RandomFaultPolicy() override;

  FaultKind OnInvoke(std::string_view function_name, std::string_view invocation_type) override;
  void Injected(FaultKind kind, const std::string& request_id,
                const std::string& payload) override;
  int64_t RandomMs(int64_t lo, int64_t hi) override;

 private:
  explicit RandomFaultPolicy(FaultSpec spec) : spec_(std::move(spec)) {}
  FaultSpec spec_;
  std::mt19937_64 rng_;
  std::FILE* log_ = nullptr;
};

}  // namespace parallelagram::local
