// The money a job spends, counted per answered invocation, and its budget (--max-cost).
//
// An answered invocation costs what it was billed (TaskResult::billed_ms at its memory size:
// Lambda's REPORT line in sync mode, else the worker's own measure, marked as an estimate)
// plus its request plus the S3 requests its worker made. The S3 requests the driver makes
// (staging, result objects, listing the async inbox) are the job's, not a task's: they count
// in spent() (and so against the budget) but in no task's charge. A throttled (429) or never-sent
// (transport) invocation is not billed. An invocation that answered with no billing at all (its
// worker died before measuring) is charged the driver's own wall time of it, as an estimate.
//
// The budget rule (--max-cost USD): a new invocation (a task's first attempt, a retry or a
// speculative duplicate) starts only if
//     spent + (in_flight + 1) * worst_case_usd() <= cap
// where worst_case_usd() is one invocation running to its timeout (function timeout, plus
// Lambda's 10 s init limit, at the function's memory) plus its request. Once nothing is in
// flight and the rule still refuses, the job stops for the budget.
// Thread-safety: not thread-safe (the driver's loop thread).
#pragma once

#include <algorithm>
#include <cstdint>

#include "aws/s3_requests.h"
#include "driver/prices.h"
#include "driver/scheduler.h"

namespace parallelagram::driver {

// The longest one invocation can be billed for: its timeout (`task_timeout_s` + 5 s when set,
// the driver's margin, within the function's timeout) plus Lambda's 10 s init limit.
inline int64_t WorstInvocationMs(double task_timeout_s, int64_t function_timeout_s) {
  const int64_t t = task_timeout_s > 0 ? std::min<int64_t>(function_timeout_s,
                                                           static_cast<int64_t>(task_timeout_s) + 5)
                                       : function_timeout_s;
  return t * 1000 + 10000;
}

// What one answered invocation was billed and cost.
struct Charge {
  double usd = 0;
  int64_t billed_ms = 0;
  int64_t memory_mb = 0;
  int64_t init_ms = 0;
  bool estimate = false;
  bool billed = false;  // false: throttled / transport, nothing to pay
};

class CostMeter {
 public:
  // `cap_usd` 0: no budget. `worst_ms`: the longest an invocation can be billed for.
  CostMeter(FunctionPricing pricing, double cap_usd, int64_t worst_ms)
      : pricing_(std::move(pricing)), cap_(cap_usd), worst_ms_(worst_ms) {}

  // Charges one answered invocation (adds to spent()).
  Charge Add(const TaskRecord& answer);
  // Money an earlier run of the job spent (resume).
  void AddEarlier(double usd) { spent_ += usd; }
  // The S3 requests the driver sent in this run so far (replaces the previous figure).
  void SetDriverRequests(const aws::S3RequestCounts& sent);

  double spent() const { return spent_ + driver_s3_usd_; }
  double driver_s3_usd() const { return driver_s3_usd_; }
  int64_t invocations_billed() const { return billed_; }
  bool estimated() const { return estimated_; }  // some charge was an estimate
  double cap() const { return cap_; }
  double worst_case_usd() const { return pricing_.InvocationUsd(worst_ms_); }
  const FunctionPricing& pricing() const { return pricing_; }

  // The budget rule, for one more invocation beside `in_flight` running ones.
  bool MayStart(int64_t in_flight) const {
    return cap_ <= 0 ||
           spent() + static_cast<double>(in_flight + 1) * worst_case_usd() <= cap_ * (1 + 1e-12);
  }

 private:
  FunctionPricing pricing_;
  double cap_ = 0;
  int64_t worst_ms_ = 0;
  double spent_ = 0;
  double driver_s3_usd_ = 0;
  int64_t billed_ = 0;
  bool estimated_ = false;
};

}  // namespace parallelagram::driver
