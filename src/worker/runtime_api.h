// RuntimeApi: the worker's side of the Lambda Runtime API (docs/protocol.md).
//
// BeastRuntimeApi speaks it over one kept-alive TCP connection with Boost.Beast
// (synchronous; no libcurl, for a fast cold start) and reconnects when the connection
// drops. Not thread-safe: one per worker, used from its one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "parallelagram/status.h"

namespace parallelagram {

// Protocol strings (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
inline constexpr char kRuntimeApiEnv[] = "AWS_LAMBDA_RUNTIME_API";
inline constexpr char kPathNext[] = "/2018-06-01/runtime/invocation/next";
inline constexpr char kPathInvocationPrefix[] = "/2018-06-01/runtime/invocation/";
inline constexpr char kPathResponseSuffix[] = "/response";
inline constexpr char kPathErrorSuffix[] = "/error";
inline constexpr char kPathInitError[] = "/2018-06-01/runtime/init/error";
inline constexpr char kHeaderRequestId[] = "Lambda-Runtime-Aws-Request-Id";
inline constexpr char kHeaderDeadlineMs[] = "Lambda-Runtime-Deadline-Ms";
inline constexpr char kHeaderFunctionArn[] = "Lambda-Runtime-Invoked-Function-Arn";
inline constexpr char kHeaderTraceId[] = "Lambda-Runtime-Trace-Id";
inline constexpr char kHeaderErrorType[] = "Lambda-Runtime-Function-Error-Type";
inline constexpr char kTraceEnv[] = "_X_AMZN_TRACE_ID";

// One invocation as GET .../next returned it.
struct NextInvocation {
  std::string request_id;
  int64_t deadline_epoch_ms = 0;  // 0 when the header was absent or unparsable
  std::string invoked_function_arn;
  std::string trace_id;
  std::string body;
};

class RuntimeApi {
 public:
  virtual ~RuntimeApi() = default;
  // Blocks (without a timeout) until the next invocation. Unavailable when the Runtime
  // API cannot be reached even after reconnecting; ProtocolError on a non-200 answer.
  virtual Result<NextInvocation> Next() = 0;
  // POST .../invocation/{id}/response with `json_body`.
  virtual Status PostResponse(const std::string& request_id, const std::string& json_body) = 0;
  // POST .../invocation/{id}/error with Lambda-Runtime-Function-Error-Type: `type` and
  // body {"errorType":type,"errorMessage":message,"stackTrace":[]}.
  virtual Status PostError(const std::string& request_id, const std::string& type,
                           const std::string& message) = 0;
  // POST /runtime/init/error, same header and body shape.
  virtual Status PostInitError(const std::string& type, const std::string& message) = 0;
};

// The JSON error body the Runtime API expects.
std::string RuntimeErrorBody(const std::string& type, const std::string& message);

class BeastRuntimeApi : public RuntimeApi {
 public:
  // `host_port` is AWS_LAMBDA_RUNTIME_API: "host:port" or "[v6addr]:port". Connects lazily.
  explicit BeastRuntimeApi(std::string host_port);
  ~BeastRuntimeApi() override;

  Result<NextInvocation> Next() override;
  Status PostResponse(const std::string& request_id, const std::string& json_body) override;
  Status PostError(const std::string& request_id, const std::string& type,
                   const std::string& message) override;
  Status PostInitError(const std::string& type, const std::string& message) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parallelagram
