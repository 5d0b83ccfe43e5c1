#include "aws/retry.h"

#include <gtest/gtest.h>

namespace parallelagram::aws {
namespace {

AwsError Err(long http, std::string code, std::string message = "", HttpHeaders headers = {}) {
  AwsError e;
  e.http_status = http;
  e.code = std::move(code);
  e.message = std::move(message);
  e.headers = std::move(headers);
  e.status = Status(ToStatusCode(e.code, http), "x");
  return e;
}

TEST(RetryTest, Classification) {
  const int64_t now = 1700000000000;
  for (const char* c : {"Throttling", "ThrottlingException", "TooManyRequestsException",
                        "RequestLimitExceeded", "SlowDown", "EC2ThrottledException"}) {
    EXPECT_EQ(ClassifyError(Err(400, c), now), RetryClass::kThrottling) << c;
  }
  EXPECT_EQ(ClassifyError(Err(429, "Whatever"), now), RetryClass::kThrottling);
  for (long s : {500, 502, 503, 504}) {
    EXPECT_EQ(ClassifyError(Err(s, "ServiceException"), now), RetryClass::kTransient) << s;
  }
  EXPECT_EQ(ClassifyError(Err(400, "RequestTimeout"), now), RetryClass::kTransient);
  EXPECT_EQ(ClassifyError(Err(0, "ConnectionError"), now), RetryClass::kTransient);
  EXPECT_EQ(ClassifyError(Err(403, "RequestTimeTooSkewed"), now), RetryClass::kClockSkew);
  EXPECT_EQ(ClassifyError(Err(400, "RequestExpired"), now), RetryClass::kClockSkew);
  EXPECT_EQ(ClassifyError(Err(403, "InvalidSignatureException",
                              "Signature expired: 2015 is now "
                              "earlier than 2016"),
                          now),
            RetryClass::kClockSkew);
  EXPECT_EQ(ClassifyError(Err(403, "InvalidSignatureException", "bad"), now), RetryClass::kNone);
  // A signature mismatch is a real error unless the server's clock is far off ours.
  EXPECT_EQ(
      ClassifyError(
          Err(403, "SignatureDoesNotMatch", "", {{"date", "Tue, 14 Nov 2023 22:13:20 GMT"}}), now),
      RetryClass::kNone);
  EXPECT_EQ(
      ClassifyError(
          Err(403, "SignatureDoesNotMatch", "", {{"date", "Tue, 14 Nov 2023 23:13:20 GMT"}}), now),
      RetryClass::kClockSkew);
  EXPECT_EQ(ClassifyError(Err(404, "ResourceNotFoundException"), now), RetryClass::kNone);
  EXPECT_EQ(ClassifyError(Err(400, "InvalidParameterValueException"), now), RetryClass::kNone);
}

TEST(RetryTest, FullJitterCappedExponentialBackoff) {
  FakeClock clock;
  RetryOptions o;
  o.seed = 42;
  o.max_attempts = 12;
  o.quota_capacity = 100000;
  RetryPolicy p(o, &clock);
  // Many draws per attempt: all within [0, min(2^(n-1), 20)] s, and spread over it.
  for (int attempt = 1; attempt <= 10; ++attempt) {
    double cap_ms = std::min(1000.0 * (1 << (attempt - 1)), 20000.0);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 200; ++i) {
      int tokens = 0;
      int64_t d = p.OnFailure(Err(503, "ServiceUnavailable"), attempt, 0, &tokens);
      ASSERT_GE(d, 0);
      EXPECT_EQ(tokens, 5);
      EXPECT_LE(d, cap_ms);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, cap_ms * 0.1) << attempt;
    EXPECT_GT(hi, cap_ms * 0.9) << attempt;
  }
  // Same seed, same delays.
  RetryPolicy a(o, &clock), b(o, &clock);
  int t = 0;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.OnFailure(Err(500, "X"), 2, 0, &t), b.OnFailure(Err(500, "X"), 2, 0, &t));
  }
}

TEST(RetryTest, MaxAttemptsAndNonRetryable) {
  FakeClock clock;
  RetryPolicy p({}, &clock);
  int t = 0;
  EXPECT_GE(p.OnFailure(Err(503, "X"), 1, 0, &t), 0);
  EXPECT_GE(p.OnFailure(Err(503, "X"), 2, 0, &t), 0);
  EXPECT_EQ(p.OnFailure(Err(503, "X"), 3, 0, &t), -1);                         // default 3 attempts
  EXPECT_EQ(p.OnFailure(Err(429, "TooManyRequestsException"), 1, 1, &t), -1);  // per call: 1
  EXPECT_EQ(p.OnFailure(Err(404, "ResourceNotFoundException"), 1, 0, &t), -1);
}

TEST(RetryTest, QuotaDrainsRefillsAndStopsRetries) {
  FakeClock clock;
  RetryOptions o;
  o.seed = 1;
  RetryPolicy p(o, &clock);
  EXPECT_EQ(p.available_tokens(), 500);
  int t = 0;
  AwsError timeout = Err(0, "RequestTimeout");
  timeout.status = Status::Timeout("t");
  ASSERT_GE(p.OnFailure(timeout, 1, 0, &t), 0);
  EXPECT_EQ(t, 10);
  EXPECT_EQ(p.available_tokens(), 490);
  p.OnSuccess(10);  // success after a retry returns its cost
  EXPECT_EQ(p.available_tokens(), 500);
  p.OnSuccess(0);  // capped at capacity
  EXPECT_EQ(p.available_tokens(), 500);
  for (int i = 0; i < 100; ++i) ASSERT_GE(p.OnFailure(Err(500, "X"), 1, 0, &t), 0);
  EXPECT_EQ(p.available_tokens(), 0);
  EXPECT_EQ(p.OnFailure(Err(500, "X"), 1, 0, &t), -1);  // no tokens: no retry
  for (int i = 0; i < 5; ++i) p.OnSuccess(0);           // +1 each
  EXPECT_EQ(p.available_tokens(), 5);
  EXPECT_GE(p.OnFailure(Err(500, "X"), 1, 0, &t), 0);
}

TEST(RetryTest, RetryAfterRaisesTheDelayAndTooLongStops) {
  FakeClock clock;
  RetryOptions o;
  o.seed = 7;
  RetryPolicy p(o, &clock);
  AwsError e = Err(429, "TooManyRequestsException");
  e.retry_after_seconds = 5;
  int t = 0;
  EXPECT_EQ(p.OnFailure(e, 1, 0, &t), 5000);  // rand*1 s < 5 s
  e.retry_after_seconds = 600;
  EXPECT_EQ(p.OnFailure(e, 1, 0, &t), -1);
}

TEST(RetryTest, ClockSkewIsLearnedFromTheDateHeader) {
  FakeClock clock(1700000000000);
  RetryPolicy p({}, &clock);
  EXPECT_EQ(p.clock_skew_ms(), 0);
  int t = 0;
  // Server is one hour ahead.
  ASSERT_GE(
      p.OnFailure(Err(403, "RequestTimeTooSkewed", "", {{"date", "Tue, 14 Nov 2023 23:13:20 GMT"}}),
                  1, 0, &t),
      0);
  EXPECT_EQ(p.clock_skew_ms(), 3600 * 1000);
}

}  // namespace
}  // namespace parallelagram::aws
