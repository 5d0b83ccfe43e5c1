// Shared types of the local Lambda service: functions, invocations, AWS error responses,
// function-name parsing. Not thread-safe; used on the service thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "local/http_server.h"
#include "parallelagram/task.h"

namespace parallelagram::local {

// The payload limits are parallelagram::kSyncPayloadLimit / kEventPayloadLimit (task.h).
inline constexpr uint64_t kResponseLimitReported = 6291556;  // the number AWS's message gives
inline constexpr uint64_t kApiBodyLimit = 80ull << 20;       // 50 MB zip, base64 in JSON

struct FunctionConfig {
  std::string name;
  std::string runtime;
  std::string role;
  std::string handler;
  std::string description;
  int timeout_s = 3;
  int memory_mb = 128;
  std::map<std::string, std::string> environment;
  std::string code_sha256;  // base64 of the zip's SHA-256, as AWS reports it
  int64_t code_size = 0;
  std::string last_modified;  // "2024-01-01T00:00:00.000+0000"
  std::string revision_id;
  std::string architecture = "x86_64";  // Architectures: x86_64 or arm64
  int ephemeral_storage_mb = 512;       // EphemeralStorage.Size: kept, not enforced
};

class ExecutionEnvironment;

struct Function {
  FunctionConfig config;
  std::string arn;
  std::string code_dir;  // the unpacked zip of the current generation
  int generation = 0;    // bumped by UpdateFunctionCode/Configuration
  std::optional<int> reserved;
  // PutFunctionEventInvokeConfig (unset: Lambda's defaults, 2 retries and 6 hours).
  struct EventInvokeConfig {
    std::optional<int> maximum_retry_attempts;        // 0..2
    std::optional<int> maximum_event_age_in_seconds;  // 60..21600
    double last_modified = 0;                         // epoch seconds
  };
  std::optional<EventInvokeConfig> event_invoke_config;
  // State Pending until this time (epoch ms), then Active; LastUpdateStatus InProgress until
  // `updating_until_ms`, then Successful (LocalLambdaOptions::state_delay_ms).
  int64_t pending_until_ms = 0;
  int64_t updating_until_ms = 0;
  int inflight = 0;
  bool deleted = false;
  std::vector<std::shared_ptr<ExecutionEnvironment>> idle;  // warm, waiting in GET /next
  // Finished an invocation but not yet back in GET /next: preferred over a cold start.
  std::vector<std::shared_ptr<ExecutionEnvironment>> returning;
};

// One invocation attempt's request, owned by the service until it finishes.
struct Invocation {
  std::string request_id;
  std::shared_ptr<Function> function;
  std::string invoked_arn;     // the ARN used to invoke: with its qualifier when one was named
  std::string client_context;  // X-Amz-Client-Context, decoded (JSON); "" when none
  std::string payload;
  bool sync = true;
  bool tail = false;
  int attempt = 1;                       // Event: 1..3
  int64_t first_enqueued_ms = 0;         // Event: for the maximum event age
  int64_t not_before_ms = 0;             // Event: retry backoff
  std::shared_ptr<HttpExchange> client;  // sync: the waiting Invoke request
  // Injected faults (--inject): kill the environment this long after delivery (-1: no), or
  // swallow the runtime's answer so the timeout ends the invocation.
  int64_t crash_after_ms = -1;
  bool hang = false;
  int64_t slow_start_ms = 0;  // run in a fresh environment whose init takes this much longer
};

struct InvocationResult {
  bool function_error = false;  // X-Amz-Function-Error: Unhandled
  std::string payload;          // the response, or the error JSON
  std::string log;              // this invocation's log (START..REPORT), raw
};

// AWS's JSON error response: header x-amzn-ErrorType, body {"Type":"User", message|Message}.
// `message_field` is "message" or "Message", as the Lambda model declares for the type.
HttpResponseMsg AwsError(const HttpRequestMsg& req, int status, const std::string& type,
                         const std::string& message, const std::string& request_id);
// Adds fields to an error body (e.g. Reason for TooManyRequestsException).
HttpResponseMsg AwsErrorWith(const HttpRequestMsg& req, int status, const std::string& type,
                             const std::string& message, const std::string& request_id,
                             const nlohmann::json& extra);

// A function name from a path parameter: "name", "name:qualifier", "ACCOUNT:function:name",
// or the full ARN. Returns the bare name and sets *qualifier (may be empty); nullopt if
// malformed.
std::optional<std::string> ParseFunctionName(const std::string& ref, std::string* qualifier);

std::string NewRequestId();                     // a random UUID v4
std::string IsoTimestampMs(int64_t epoch_ms);   // 2024-01-01T00:00:00.000Z
std::string LambdaTimestamp(int64_t epoch_ms);  // 2024-01-01T00:00:00.000+0000
std::string PercentDecode(const std::string& s);

}  // namespace parallelagram::local
