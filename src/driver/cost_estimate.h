// What a job would cost, before it runs (`run --dry-run`): the worst case (every attempt of
// every task running to its timeout, plus Lambda's 10 s init limit, at --memory) and, when an
// earlier job in the state root ran the same command on the same backend, an estimate from
// that job's median billed duration.
// Thread-safety: free functions (they read the state root).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "driver/prices.h"
#include "driver/run_options.h"

namespace parallelagram::driver {

struct CostEstimate {
  int64_t tasks = 0;
  double worst_usd = 0;
  int64_t worst_ms_per_attempt = 0;
  // From the newest earlier job with the same command and backend, if any.
  std::string earlier_job;
  int64_t median_billed_ms = 0;
  double estimate_usd = 0;
};

// `root`: the state root ("" : no earlier jobs are looked at).
CostEstimate EstimateCost(const RunOptions& o, int64_t tasks, const PriceTable& prices,
                          const std::string& root);

// Two lines for stderr: the worst case, and the estimate when there is one.
std::string DescribeEstimate(const RunOptions& o, const CostEstimate& e, const PriceTable& prices);

}  // namespace parallelagram::driver
