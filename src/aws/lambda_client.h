// LambdaClient: the Lambda API (REST-JSON, 2015-03-31 model paths) on AwsClient.
//
// Data plane: Invoke (RequestResponse / Event / DryRun), asynchronous. Its request is
// MakeInvokeHttpRequest's, which the driver's invokers (driver/lambda_invoker.h) send too,
// over their own HTTP client. A function error is NOT an AwsError:
// it is a 200 InvokeResult with function_error set ("Unhandled"/"Handled") and
// the error JSON in payload. A throttle (429 TooManyRequestsException) is an
// AwsError with status kThrottled, `reason` and `retry_after_seconds` filled.
// Control plane: Create/Get/Update/Delete function, concurrency, account
// settings, and WaitUntilActive / WaitUntilUpdated (polling GetFunctionConfiguration
// until State Active and LastUpdateStatus Successful, as Lambda requires between
// changes).
//
// Thread-safety and lifetime as AwsClient: loop thread only; the AwsClient (service
// "lambda", protocol kRestJson) must outlive the LambdaClient and all calls in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/aws_client.h"

namespace parallelagram::aws {

enum class InvocationType { kRequestResponse, kEvent, kDryRun };

struct InvokeRequest {
  std::string function_name;  // name, ARN or partial ARN
  std::string qualifier;      // version or alias; optional
  InvocationType type = InvocationType::kRequestResponse;
  bool tail_log = false;   // X-Amz-Log-Type: Tail (sync only)
  std::string payload;     // JSON event (≤ 6 MB sync, 1 MB Event)
  int64_t timeout_ms = 0;  // HTTP timeout for the whole call; 0: none. Give it more than
                           // the function's timeout: a sync invoke holds the connection.
  int max_attempts = 1;    // 1: no retries here (the caller applies its own throttle
                           // policy); 0: the client's standard-mode default
};

struct InvokeResult {
  long status_code = 0;        // 200 RequestResponse, 202 Event, 204 DryRun
  std::string function_error;  // "" or "Unhandled" / "Handled" (X-Amz-Function-Error)
  std::string log_tail;        // X-Amz-Log-Result, base64-decoded ("" unless tail_log)
  std::string executed_version;
  std::string payload;  // the function's response, or its error JSON
  std::string request_id;
  double seconds = 0;  // wall time of the HTTP call
};

// The HTTP request of one Invoke, the one wire form every Invoke caller sends (LambdaClient
// and the driver's invokers): POST {endpoint}/2015-03-31/functions/{name}/invocations
// (name UriEncoded), "?Qualifier=Q" when a qualifier is given, Content-Type
// application/json, X-Amz-Invocation-Type (left out for RequestResponse, Lambda's default:
// fewer bytes to send and sign per invoke), X-Amz-Log-Type: Tail when tail_log, the payload
// as the body (moved), request.timeout_ms. `endpoint` "" gives a path-only url (AwsClient
// puts its own endpoint before it). Unsigned; pure.
HttpRequest MakeInvokeHttpRequest(std::string_view endpoint, InvokeRequest request);

struct FunctionConfiguration {
  std::string function_name;
  std::string function_arn;
  std::string runtime;
  std::string role;
  std::string handler;
  int timeout_seconds = 0;
  int memory_mb = 0;
  int ephemeral_storage_mb = 0;
  std::vector<std::string> architectures;  // "x86_64" / "arm64"
  std::string state;                       // Pending / Active / Inactive / Failed
  std::string state_reason;
  std::string last_update_status;  // InProgress / Successful / Failed
  std::string last_update_status_reason;
  std::string code_sha256;
  int64_t code_size = 0;
  std::string revision_id;
  std::map<std::string, std::string> environment;
  std::string raw_json;  // the whole configuration object
};

struct GetFunctionResult {
  FunctionConfiguration configuration;
  std::optional<int> reserved_concurrency;  // Concurrency.ReservedConcurrentExecutions
  std::string code_location;
};

struct CreateFunctionRequest {
  std::string function_name;
  std::string role;
  std::string runtime = "provided.al2023";
  std::string handler = "bootstrap";
  std::string zip_file;           // raw zip bytes (sent base64); or
  std::string s3_bucket, s3_key;  // the code in S3
  int timeout_seconds = 0;        // 0: Lambda's default
  int memory_mb = 0;
  int ephemeral_storage_mb = 0;
  std::string architecture;  // "x86_64" / "arm64" / "" (default)
  std::map<std::string, std::string> environment;
  std::string description;
};

struct UpdateFunctionCodeRequest {
  std::string function_name;
  std::string zip_file;  // raw zip bytes; or
  std::string s3_bucket, s3_key;
  std::string architecture;
};

struct UpdateFunctionConfigurationRequest {
  std::string function_name;
  std::optional<std::string> role, handler, runtime, description;
  std::optional<int> timeout_seconds, memory_mb, ephemeral_storage_mb;
  std::optional<std::map<std::string, std::string>> environment;
};

struct AccountSettings {
  int concurrent_executions = 0;             // AccountLimit.ConcurrentExecutions
  int unreserved_concurrent_executions = 0;  // AccountLimit.UnreservedConcurrentExecutions
  int64_t code_size_zipped = 0;
  int64_t code_size_unzipped = 0;
  int64_t total_code_size_limit = 0;
  int64_t function_count = 0;  // AccountUsage.FunctionCount
};

struct Empty {};

// A function's asynchronous invocation settings (FunctionEventInvokeConfig); unset fields are
// Lambda's defaults (2 retries after a function error, events kept up to 6 hours).
struct EventInvokeConfig {
  std::optional<int> maximum_retry_attempts;        // 0..2
  std::optional<int> maximum_event_age_in_seconds;  // 60..21600
};

class LambdaClient {
 public:
  explicit LambdaClient(AwsClient& client) : client_(client) {}

  template <typename T>
  using Callback = std::function<void(AwsResult<T>)>;

  void Invoke(const InvokeRequest& request, Callback<InvokeResult> done);

  void CreateFunction(const CreateFunctionRequest& request, Callback<FunctionConfiguration> done);
  void GetFunction(const std::string& name, Callback<GetFunctionResult> done);
  void GetFunctionConfiguration(const std::string& name, Callback<FunctionConfiguration> done);
  void UpdateFunctionCode(const UpdateFunctionCodeRequest& request,
                          Callback<FunctionConfiguration> done);
  void UpdateFunctionConfiguration(const UpdateFunctionConfigurationRequest& request,
                                   Callback<FunctionConfiguration> done);
  void DeleteFunction(const std::string& name, Callback<Empty> done);
  // Reserved concurrency: Put returns what Lambda set; Get gives nullopt when none is set.
  void PutFunctionConcurrency(const std::string& name, int reserved, Callback<int> done);
  void GetFunctionConcurrency(const std::string& name, Callback<std::optional<int>> done);
  void DeleteFunctionConcurrency(const std::string& name, Callback<Empty> done);
  void GetAccountSettings(Callback<AccountSettings> done);
  // PutFunctionEventInvokeConfig replaces the settings (fields left unset go back to the
  // defaults) and returns what Lambda stored; Get fails with ResourceNotFoundException when
  // the function has none.
  void PutFunctionEventInvokeConfig(const std::string& name, const EventInvokeConfig& config,
                                    Callback<EventInvokeConfig> done);
  void GetFunctionEventInvokeConfig(const std::string& name, Callback<EventInvokeConfig> done);

  // Polls GetFunctionConfiguration every `poll_ms` until State is Active (Failed or
  // a timeout is an error) and, if `wait_for_update`, LastUpdateStatus is
  // Successful (not InProgress; Failed is an error naming the reason).
  void WaitUntilReady(const std::string& name, bool wait_for_update, int64_t timeout_ms,
                      Callback<FunctionConfiguration> done, int64_t poll_ms = 1000);

  // Synchronous forms (run the loop until done; not from a loop callback).
  AwsResult<InvokeResult> InvokeAndWait(const InvokeRequest& request);
  AwsResult<FunctionConfiguration> CreateFunctionAndWait(const CreateFunctionRequest& request);
  AwsResult<GetFunctionResult> GetFunctionAndWait(const std::string& name);
  AwsResult<FunctionConfiguration> GetFunctionConfigurationAndWait(const std::string& name);
  AwsResult<FunctionConfiguration> UpdateFunctionCodeAndWait(const UpdateFunctionCodeRequest& r);
  AwsResult<FunctionConfiguration> UpdateFunctionConfigurationAndWait(
      const UpdateFunctionConfigurationRequest& r);
  AwsResult<Empty> DeleteFunctionAndWait(const std::string& name);
  AwsResult<int> PutFunctionConcurrencyAndWait(const std::string& name, int reserved);
  AwsResult<std::optional<int>> GetFunctionConcurrencyAndWait(const std::string& name);
  AwsResult<Empty> DeleteFunctionConcurrencyAndWait(const std::string& name);
  AwsResult<AccountSettings> GetAccountSettingsAndWait();
  AwsResult<EventInvokeConfig> PutFunctionEventInvokeConfigAndWait(const std::string& name,
                                                                   const EventInvokeConfig& c);
  AwsResult<EventInvokeConfig> GetFunctionEventInvokeConfigAndWait(const std::string& name);
  AwsResult<FunctionConfiguration> WaitUntilActiveAndWait(const std::string& name,
                                                          int64_t timeout_ms = 300000,
                                                          int64_t poll_ms = 1000);
  AwsResult<FunctionConfiguration> WaitUntilUpdatedAndWait(const std::string& name,
                                                           int64_t timeout_ms = 300000,
                                                           int64_t poll_ms = 1000);

 private:
  void PollReady(std::string name, bool wait_for_update, int64_t deadline_mono_us, int64_t poll_ms,
                 Callback<FunctionConfiguration> done);

  AwsClient& client_;
};

}  // namespace parallelagram::aws
