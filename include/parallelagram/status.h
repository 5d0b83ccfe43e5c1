// Status and Result<T>: the one error type of each layer's API.
//
// A Status is either OK or carries a code and a one-line message meant for a
// human: what was wrong and, where possible, what to do. Messages never hold
// secrets. Status is a cheap value type; it is not thread-safe to mutate one
// object from two threads, but copies are independent.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace parallelagram {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from the user or a caller
  kNotFound,         // a file, function, key or job that does not exist
  kAlreadyExists,
  kPermissionDenied,  // includes bad or expired credentials
  kUnavailable,       // transport failure, connection refused, service down; retryable
  kThrottled,         // 429 and friends; retryable
  kTimeout,
  kIoError,
  kProtocolError,  // a peer spoke something we cannot parse
  kInternal,
  kCancelled,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status ProtocolError(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace parallelagram

#define PG_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::parallelagram::Status pg_s_ = (expr); \
    if (!pg_s_.ok()) return pg_s_;          \
  } while (0)

#define PG_CONCAT_INNER(a, b) a##b
#define PG_CONCAT(a, b) PG_CONCAT_INNER(a, b)
#define PG_ASSIGN_OR_RETURN(lhs, expr)                                              \
  auto PG_CONCAT(pg_r_, __LINE__) = (expr);                                         \
  if (!PG_CONCAT(pg_r_, __LINE__).ok()) return PG_CONCAT(pg_r_, __LINE__).status(); \
  lhs = std::move(PG_CONCAT(pg_r_, __LINE__)).value()
