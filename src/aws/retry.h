// The AWS SDKs' "standard" retry mode (as botocore's classic standard mode and
// the SDK reference "Retry behavior" page describe it):
//  - max attempts 3 by default (configurable per client and per call);
//  - retryable: throttling (Throttling, ThrottlingException, TooManyRequestsException,
//    RequestLimitExceeded, SlowDown, ..., HTTP 429), transient (HTTP 500/502/503/504,
//    RequestTimeout, RequestTimeoutException, PriorRequestNotComplete, connection
//    errors and timeouts), and clock skew (RequestTimeTooSkewed, RequestExpired,
//    InvalidSignatureException "Signature expired", or an auth error while the
//    response's Date is more than 4 minutes off our clock);
//  - delay: full jitter, rand[0,1) * min(2^(attempt-1) s, 20 s); a Retry-After /
//    x-amz-retry-after / retryAfterSeconds hint raises the delay to at least that
//    (up to max_retry_after_seconds; longer hints end the retries);
//  - a retry quota shared by all calls of one client: 500 tokens, a retry costs 5
//    (10 after a timeout), a success without retries refills 1, a success after
//    retries returns what its last retry took. No tokens: no retry.
//  - clock skew: the offset between the server's Date header and our clock is
//    remembered and added to the signing time of later attempts.
//
// Not thread-safe: one RetryPolicy belongs to one client on one loop thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "aws/aws_error.h"
#include "common/clock.h"

namespace parallelagram::aws {

enum class RetryClass { kNone, kThrottling, kTransient, kClockSkew };

// Classifies a failed attempt. `local_epoch_ms` is our clock when the response
// arrived (for the Date-header skew test).
RetryClass ClassifyError(const AwsError& error, int64_t local_epoch_ms,
                         int64_t skew_threshold_ms = 4 * 60 * 1000);

// The server's time minus `local_epoch_ms`, from the error response's Date header, in
// *skew_ms; false (and *skew_ms untouched) when it has none or an unparseable one.
bool ServerClockSkewMs(const AwsError& error, int64_t local_epoch_ms, int64_t* skew_ms);

struct RetryOptions {
  int max_attempts = 3;
  double max_backoff_seconds = 20;
  double base_seconds = 1;  // the first retry waits rand*1 s, then rand*2 s, ...
  double max_retry_after_seconds = 60;
  int quota_capacity = 500;
  int retry_cost = 5;
  int timeout_retry_cost = 10;
  int no_retry_increment = 1;
  int64_t skew_threshold_ms = 4 * 60 * 1000;
  uint64_t seed = 0;  // 0: seeded from std::random_device
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options = {}, const Clock* clock = &SystemClock::Get());

  // The decision after failed attempt number `attempt` (1-based) of a call
  // allowed `max_attempts` (0: the options' default). On retry, takes tokens
  // from the quota (recorded in *tokens_taken), updates the clock skew if the
  // error shows it, and returns the delay in ms; returns -1 for "do not retry".
  int64_t OnFailure(const AwsError& error, int attempt, int max_attempts, int* tokens_taken);
  // After a 2xx: refills the quota (see above). `tokens_taken` from the last retry, 0 if none.
  void OnSuccess(int tokens_taken);

  // Milliseconds to add to our clock when signing (server time − our time).
  int64_t clock_skew_ms() const { return skew_ms_; }
  int available_tokens() const { return tokens_; }
  const RetryOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }

 private:
  RetryOptions options_;
  const Clock* clock_;
  std::mt19937_64 rng_;
  int tokens_;
  int64_t skew_ms_ = 0;
};

}  // namespace parallelagram::aws
