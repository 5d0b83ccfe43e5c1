#include "aws/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace parallelagram::aws {
namespace {

bool IsThrottling(const AwsError& e) {
  static constexpr std::string_view kCodes[] = {"Throttling",
                                                "ThrottlingException",
                                                "ThrottledException",
                                                "RequestThrottledException",
                                                "TooManyRequestsException",
                                                "ProvisionedThroughputExceededException",
                                                "TransactionInProgressException",
                                                "RequestLimitExceeded",
                                                "BandwidthLimitExceeded",
                                                "LimitExceededException",
                                                "RequestThrottled",
                                                "SlowDown",
                                                "PriorRequestNotComplete",
                                                "EC2ThrottledException"};
  for (auto k : kCodes) {
    if (e.code == k) return true;
  }
  return e.http_status == 429;
}

bool IsTransient(const AwsError& e) {
  if (e.http_status == 0) return true;  // connection error or timeout: no response
  if (e.code == "RequestTimeout" || e.code == "RequestTimeoutException" ||
      e.code == "PriorRequestNotComplete") {
    return true;
  }
  return e.http_status == 500 || e.http_status == 502 || e.http_status == 503 ||
         e.http_status == 504;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ServerSkewMs(const AwsError& e, int64_t local_ms, int64_t* skew) {
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

}  // namespace

bool ParseHttpDate(std::string_view s, int64_t* epoch_ms) {
  std::string str(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char mon[4] = {0};
  if (std::sscanf(str.c_str(), "%*3s, %d %3s %d %d:%d:%d", &d, mon, &y, &h, &mi, &sec) == 6) {
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    mo = 0;
    for (int i = 0; i < 12; ++i) {
      if (std::string_view(mon) == kMonths[i]) mo = i + 1;
    }
    if (mo == 0) return false;
  } else if (std::sscanf(str.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &sec) == 6 &&
             str.size() == 16) {
  } else if (std::sscanf(str.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) == 6) {
  } else {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *epoch_ms = ((days * 24 + h) * 60 + mi) * 60000 + int64_t{sec} * 1000;
  return true;
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
    if (ServerSkewMs(e, local_epoch_ms, &skew) && std::llabs(skew) > skew_threshold_ms) {
      return RetryClass::kClockSkew;
    }
    return RetryClass::kNone;
  }
  if (IsThrottling(e)) return RetryClass::kThrottling;
  if (IsTransient(e)) return RetryClass::kTransient;
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
    if (ServerSkewMs(error, now, &skew)) skew_ms_ = skew;
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
