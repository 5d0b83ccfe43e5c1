// AwsError: an AWS API failure as the caller sees it (service error or
// transport failure), parsed from the three wire protocols we speak, and
// AwsResult<T>, a T or an AwsError.
//
// Parsing is pure and thread-safe. Messages never hold header values or
// secrets: only AWS's error code, its message, the request id and, for auth
// failures, the description (never the keys) of where the credentials came from.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "http/http_client.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

enum class AwsProtocol {
  kRestJson,  // Lambda: x-amzn-ErrorType header / __type, message, x-amzn-RequestId
  kQuery,     // IAM, STS: <ErrorResponse><Error><Code>..</Code><Message>..</Message></Error>
              //   <RequestId>..</RequestId></ErrorResponse>
  kRestXml,   // S3: <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error>,
              //   x-amz-request-id; HEAD errors have no body (code from the status)
};

struct AwsError {
  Status status;         // non-OK; code mapped from the error (see ToStatusCode)
  long http_status = 0;  // 0: no HTTP response (transport failure)
  std::string code;      // AWS's error code, e.g. "ResourceNotFoundException"
  std::string message;   // AWS's message
  std::string request_id;
  std::string reason;               // Lambda throttles: "ConcurrentInvocationLimitExceeded", ...
  double retry_after_seconds = -1;  // from Retry-After / x-amz-retry-after / retryAfterSeconds
  int attempts = 1;                 // how many attempts were made
  std::string body;                 // the raw error body (may be empty)
  HttpHeaders headers;              // the response headers (empty for transport failures)
};

// Parses an HTTP response with a non-2xx status into an AwsError. `context`
// prefixes the one-line status message (e.g. "lambda Invoke"). The resulting
// message reads "context: Code: message (HTTP 404, request id X)".
AwsError ParseAwsError(AwsProtocol protocol, const HttpResponse& response,
                       const std::string& context);

// A transport failure (no HTTP response) as an AwsError.
AwsError TransportError(const Status& status, const std::string& context);

// A failure found on our side (an unparseable answer, a local file), as an
// AwsError with code "ClientError" and no HTTP status. `status` must not be OK.
AwsError ClientError(Status status);

// Maps an AWS error code and HTTP status to a StatusCode: throttling codes and
// 429 → kThrottled; auth failures (AccessDenied, InvalidClientTokenId,
// SignatureDoesNotMatch, ExpiredToken, ...) and 401/403 → kPermissionDenied;
// *NotFound*, NoSuch*, 404 → kNotFound; *AlreadyExists*, 409 → kAlreadyExists;
// RequestTimeout, 408 → kTimeout; 5xx, InternalError, ServiceUnavailable, ... →
// kUnavailable; other 4xx → kInvalidArgument. `http_status` 0 means unknown
// (an error document inside a 2xx answer): the code alone decides.
StatusCode ToStatusCode(std::string_view code, long http_status);

// The standard retry mode's classes (one table, used by retry.h and ToStatusCode):
// throttling: Throttling, ThrottlingException, TooManyRequestsException, SlowDown,
// RequestLimitExceeded, ... or HTTP 429.
bool IsThrottlingError(std::string_view code, long http_status);
// transient: no response at all (http_status 0), RequestTimeout(Exception),
// PriorRequestNotComplete, HTTP 500/502/503/504 (botocore's standard-mode lists).
bool IsTransientError(std::string_view code, long http_status);

// True for error codes that mean the credentials were refused.
bool IsAuthErrorCode(std::string_view code);

// A T, or an AwsError. Like Result<T>, with the error's details kept.
template <typename T>
class [[nodiscard]] AwsResult {
 public:
  AwsResult(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  AwsResult(AwsError error) : v_(std::move(error)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<AwsError>(v_).status.ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<AwsError>(v_).status;
  }
  const AwsError& error() const { return std::get<AwsError>(v_); }
  AwsError& error() { return std::get<AwsError>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, AwsError> v_;
};

}  // namespace parallelagram::aws
