// Lambda's REPORT log line, the one record of what an invocation was billed:
//
//   REPORT RequestId: ID\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t
//   Max Memory Used: 40 MB\tInit Duration: 95.10 ms\t
//
// (one line; `Init Duration` only on a cold start). For custom runtimes (provided.*), which is
// what Parallelagram deploys, Billed Duration already includes the init phase
// (../shared/lambda-facts.md, "Pricing"). The invoke's X-Amz-Log-Type: Tail answer carries the
// last 4 KB of the invocation's log, which ends with this line.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace parallelagram::aws {

struct LambdaReport {
  double duration_ms = 0;
  int64_t billed_ms = 0;
  int64_t memory_size_mb = 0;
  int64_t max_memory_used_mb = 0;
  double init_ms = 0;  // 0 unless the invocation was a cold start
};

// The last REPORT line of `log`, or nullopt when it holds none (or one without Billed
// Duration and Memory Size, the two fields billing needs).
std::optional<LambdaReport> ParseLambdaReport(std::string_view log);

}  // namespace parallelagram::aws
