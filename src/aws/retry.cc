#include "aws/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "common/time_parse.h"

namespace parallelagram::aws {
bool ServerClockSkewMs(const AwsError& e, int64_t local_ms, int64_t* skew) {
  for (const auto& [k, v] : e.headers) {
    if (k == "date") {
      int64_t server_ms = 0;
      if (!ParseHttpDate(v, &server_ms)) return false;
      *skew = server_ms - local_ms;
      return true;
    }
  }
  return false;
}

RetryClass ClassifyError(const AwsError& e, int64_t local_epoch_ms, int64_t skew_threshold_ms) {
  if (e.code == "RequestTimeTooSkewed" || e.code == "RequestExpired" ||
      e.code == "RequestInTheFuture" ||
      (e.code == "InvalidSignatureException" &&
       e.message.find("Signature expired") != std::string::npos)) {
    return RetryClass::kClockSkew;
  }
  if (IsAuthErrorCode(e.code) || e.code == "SignatureDoesNotMatch") {
    int64_t skew = 0;
    if (ServerClockSkewMs(e, local_epoch_ms, &skew) && std::llabs(skew) > skew_threshold_ms) {
      return RetryClass::kClockSkew;
    }
    return RetryClass::kNone;
  }
  if (IsThrottlingError(e.code, e.http_status)) return RetryClass::kThrottling;
  if (IsTransientError(e.code, e.http_status)) return RetryClass::kTransient;
  return RetryClass::kNone;
}

RetryPolicy::RetryPolicy(RetryOptions options, const Clock* clock)
    : options_(options),
      clock_(clock),
      rng_(options.seed != 0 ? options.seed : std::random_device{}()),
      tokens_(options.quota_capacity) {}

int64_t RetryPolicy::OnFailure(const AwsError& error, int attempt, int max_attempts,
                               int* tokens_taken) {
  if (max_attempts <= 0) max_attempts = options_.max_attempts;
  int64_t now = clock_->NowEpochMs();
  RetryClass cls = ClassifyError(error, now, options_.skew_threshold_ms);
  if (cls == RetryClass::kClockSkew) {
    int64_t skew = 0;
    if (ServerClockSkewMs(error, now, &skew)) skew_ms_ = skew;
  }
  if (cls == RetryClass::kNone || attempt >= max_attempts) return -1;
  int cost = (error.http_status == 0 && error.status.code() == StatusCode::kTimeout)
                 ? options_.timeout_retry_cost
                 : options_.retry_cost;
  if (tokens_ < cost) return -1;
  double retry_after = error.retry_after_seconds;
  if (retry_after > options_.max_retry_after_seconds) return -1;
  tokens_ -= cost;
  *tokens_taken = cost;
  double cap =
      std::min(options_.base_seconds * std::pow(2.0, attempt - 1), options_.max_backoff_seconds);
  double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double delay = jitter * cap;
  if (retry_after > delay) delay = retry_after;
  return static_cast<int64_t>(delay * 1000.0);
}

void RetryPolicy::OnSuccess(int tokens_taken) {
  tokens_ += tokens_taken > 0 ? tokens_taken : options_.no_retry_increment;
  tokens_ = std::min(tokens_, options_.quota_capacity);
}

}  // namespace parallelagram::aws
