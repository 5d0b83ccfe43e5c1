#include "aws/aws_error.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <string>

namespace parallelagram::aws {
namespace {

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// One line: newlines and tabs become spaces, and a runaway message is cut.
std::string OneLine(std::string s) {
  for (auto& ch : s) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  if (s.size() > 500) s = s.substr(0, 497) + "...";
  return s;
}

std::string JsonString(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it == j.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number()) return it->dump();
  }
  return "";
}

// "aws.protocoltests#FooError:http://..." → "FooError"
std::string CleanJsonCode(std::string code) {
  auto colon = code.find(':');
  if (colon != std::string::npos) code = code.substr(0, colon);
  auto hash = code.rfind('#');
  if (hash != std::string::npos) code = code.substr(hash + 1);
  return code;
}

double ParseSeconds(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v < 0) return -1;
  return v;
}

std::string CodeFromStatus(long status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 304:
      return "NotModified";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 412:
      return "PreconditionFailed";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "HTTP" + std::to_string(status);
  }
}

}  // namespace

AwsError ClientError(Status status) {
  AwsError e;
  e.status = std::move(status);
  e.code = "ClientError";
  return e;
}

bool IsThrottlingError(std::string_view c, long http_status) {
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
    if (c == k) return true;
  }
  return http_status == 429;
}

bool IsTransientError(std::string_view c, long http_status) {
  if (http_status == 0) return true;  // connection error or timeout: no response
  if (c == "RequestTimeout" || c == "RequestTimeoutException" || c == "PriorRequestNotComplete") {
    return true;
  }
  return http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504;
}

bool IsAuthErrorCode(std::string_view c) {
  static constexpr std::string_view kCodes[] = {"AccessDenied",
                                                "AccessDeniedException",
                                                "InvalidClientTokenId",
                                                "SignatureDoesNotMatch",
                                                "InvalidSignatureException",
                                                "ExpiredToken",
                                                "ExpiredTokenException",
                                                "InvalidAccessKeyId",
                                                "UnrecognizedClientException",
                                                "MissingAuthenticationToken",
                                                "MissingAuthenticationTokenException",
                                                "AuthFailure",
                                                "IncompleteSignature",
                                                "InvalidToken",
                                                "TokenRefreshRequired",
                                                "RequestExpired",
                                                "RequestTimeTooSkewed",
                                                "NotAuthorized",
                                                "UnauthorizedOperation",
                                                "KMSAccessDeniedException"};
  for (auto k : kCodes) {
    if (c == k) return true;
  }
  return false;
}

StatusCode ToStatusCode(std::string_view code, long http_status) {
  if (IsThrottlingError(code, http_status)) return StatusCode::kThrottled;
  if (IsAuthErrorCode(code) || http_status == 401 || http_status == 403) {
    return StatusCode::kPermissionDenied;
  }
  if (code == "RequestTimeout" || code == "RequestTimeoutException" || http_status == 408) {
    return StatusCode::kTimeout;
  }
  if (Contains(code, "NotFound") || code.rfind("NoSuch", 0) == 0 || http_status == 404) {
    return StatusCode::kNotFound;
  }
  if (Contains(code, "AlreadyExists") || code == "BucketAlreadyOwnedByYou" ||
      code == "ResourceConflictException" || http_status == 409) {
    return StatusCode::kAlreadyExists;
  }
  if (http_status >= 500 || code == "InternalError" || code == "InternalFailure" ||
      code == "ServiceUnavailable" || code == "ServiceException") {
    return StatusCode::kUnavailable;
  }
  // 0: no status known (S3's error documents inside a 200 answer).
  if (http_status >= 400 || (http_status == 0 && !code.empty())) {
    return StatusCode::kInvalidArgument;
  }
  return StatusCode::kProtocolError;  // 3xx or 1xx: not something we can use
}

AwsError ParseAwsError(AwsProtocol protocol, const HttpResponse& response,
                       const std::string& context) {
  AwsError e;
  e.http_status = response.status;
  e.body = response.body;
  e.headers = response.headers;
  const std::string& body = response.body;

  switch (protocol) {
    case AwsProtocol::kRestJson: {
      e.request_id = response.Header("x-amzn-requestid");
      e.code = CleanJsonCode(response.Header("x-amzn-errortype"));
      auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (j.is_object()) {
        if (e.code.empty())
          e.code = CleanJsonCode(JsonString(j, {"__type", "code", "Code", "Type"}));
        e.message = JsonString(j, {"message", "Message", "errorMessage"});
        e.reason = JsonString(j, {"Reason", "reason"});
        e.retry_after_seconds = ParseSeconds(JsonString(j, {"retryAfterSeconds"}));
      }
      break;
    }
    case AwsProtocol::kQuery:
    case AwsProtocol::kRestXml: {
      pugi::xml_document doc;
      if (!body.empty() && doc.load_buffer(body.data(), body.size())) {
        pugi::xml_node err = doc.child("ErrorResponse").child("Error");
        pugi::xml_node root = doc.child("ErrorResponse");
        if (!err) {
          err = doc.child("Error");
          root = err;
        }
        if (!err) err = doc.child("Response").child("Errors").child("Error");  // EC2-style
        if (err) {
          e.code = err.child_value("Code");
          e.message = err.child_value("Message");
          e.request_id = root.child_value("RequestId");
          if (e.request_id.empty()) e.request_id = err.child_value("RequestId");
          if (e.request_id.empty()) e.request_id = doc.child("Response").child_value("RequestID");
        }
      }
      if (e.request_id.empty()) e.request_id = response.Header("x-amz-request-id");
      if (e.request_id.empty()) e.request_id = response.Header("x-amzn-requestid");
      break;
    }
  }
  if (e.code.empty() && !body.empty() && body.find('<') != std::string::npos) {
    // Some front ends (and moto's auth layer, for every protocol) answer in query XML.
    pugi::xml_document doc;
    if (doc.load_buffer(body.data(), body.size())) {
      pugi::xml_node err = doc.child("ErrorResponse").child("Error");
      if (!err) err = doc.child("ErrorResponse").child("Errors").child("Error");
      if (!err) err = doc.child("Error");
      if (err) {
        e.code = err.child_value("Code");
        e.message = err.child_value("Message");
      }
    }
  }
  if (e.request_id.empty()) e.request_id = response.Header("x-amzn-requestid");
  if (e.code.empty()) e.code = CodeFromStatus(response.status);
  if (e.retry_after_seconds < 0)
    e.retry_after_seconds = ParseSeconds(response.Header("retry-after"));
  if (e.retry_after_seconds < 0) {
    double ms = ParseSeconds(response.Header("x-amz-retry-after"));
    if (ms >= 0) e.retry_after_seconds = ms / 1000.0;
  }

  std::string text = context + ": " + e.code;
  if (!e.message.empty()) text += ": " + e.message;
  if (!e.reason.empty()) text += " (reason " + e.reason + ")";
  text += " (HTTP " + std::to_string(response.status);
  if (!e.request_id.empty()) text += ", request id " + e.request_id;
  text += ")";
  e.status = Status(ToStatusCode(e.code, response.status), OneLine(text));
  return e;
}

AwsError TransportError(const Status& status, const std::string& context) {
  AwsError e;
  e.status = status.WithContext(context);
  e.code = status.code() == StatusCode::kTimeout ? "RequestTimeout" : "ConnectionError";
  e.message = status.message();
  return e;
}

}  // namespace parallelagram::aws
