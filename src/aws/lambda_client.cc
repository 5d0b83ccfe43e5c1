#include "aws/lambda_client.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "aws/sigv4.h"
#include "common/base64.h"
#include "common/json_text.h"

namespace parallelagram::aws {
namespace {

using json = nlohmann::json;

int64_t MonoUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string FunctionPath(const std::string& version, const std::string& name,
                         const std::string& suffix = "") {
  return "/" + version + "/functions/" + UriEncode(name, false) + suffix;
}

AwsRequest JsonRequest(const std::string& op, const std::string& method, std::string path,
                       const json* body = nullptr) {
  AwsRequest r;
  r.operation = op;
  r.http.method = method;
  r.http.url = std::move(path);
  if (body != nullptr) {
    r.http.body = DumpLenient(*body);  // never throws on bytes that are not UTF-8
    r.http.headers.emplace_back("Content-Type", "application/json");
  }
  return r;
}

AwsError ParseFailure(const std::string& op, const std::string& what) {
  return ClientError(Status::ProtocolError("lambda " + op + ": " + what));
}

json EnvJson(const std::map<std::string, std::string>& env) {
  json vars = json::object();
  for (const auto& [k, v] : env) vars[k] = v;
  return json{{"Variables", vars}};
}

template <typename T>
using Callback = LambdaClient::Callback<T>;

// Wraps a JSON-returning call: parses the body and hands it to `parse`.
template <typename T, typename Parse>
std::function<void(AwsResult<HttpResponse>)> OnJson(std::string op, Callback<T> done, Parse parse) {
  return [op = std::move(op), done = std::move(done),
          parse = std::move(parse)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    auto j = json::parse(r->body.empty() ? std::string("{}") : r->body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return done(ParseFailure(op, "the response is not JSON"));
    Result<T> v = parse(j);
    if (!v.ok()) return done(ParseFailure(op, v.status().message()));
    done(std::move(v).value());
  };
}

Result<FunctionConfiguration> ConfigFromJson(const json& j) {
  FunctionConfiguration c;
  c.function_name = j.value("FunctionName", "");
  c.function_arn = j.value("FunctionArn", "");
  c.runtime = j.value("Runtime", "");
  c.role = j.value("Role", "");
  c.handler = j.value("Handler", "");
  c.timeout_seconds = j.value("Timeout", 0);
  c.memory_mb = j.value("MemorySize", 0);
  if (j.contains("EphemeralStorage") && j["EphemeralStorage"].is_object()) {
    c.ephemeral_storage_mb = j["EphemeralStorage"].value("Size", 0);
  }
  if (j.contains("Architectures") && j["Architectures"].is_array()) {
    for (const auto& a : j["Architectures"]) {
      if (a.is_string()) c.architectures.push_back(a.get<std::string>());
    }
  }
  c.state = j.value("State", "");
  c.state_reason = j.value("StateReason", "");
  c.last_update_status = j.value("LastUpdateStatus", "");
  c.last_update_status_reason = j.value("LastUpdateStatusReason", "");
  c.code_sha256 = j.value("CodeSha256", "");
  c.code_size = j.value("CodeSize", int64_t{0});
  c.revision_id = j.value("RevisionId", "");
  if (j.contains("Environment") && j["Environment"].is_object() &&
      j["Environment"].contains("Variables") && j["Environment"]["Variables"].is_object()) {
    for (const auto& [k, v] : j["Environment"]["Variables"].items()) {
      if (v.is_string()) c.environment[k] = v.get<std::string>();
    }
  }
  c.raw_json = j.dump();
  if (c.function_name.empty() && c.function_arn.empty()) {
    return Status::ProtocolError("the response has no FunctionName");
  }
  return c;
}

}  // namespace

HttpRequest MakeInvokeHttpRequest(std::string_view endpoint, InvokeRequest request) {
  HttpRequest http;
  http.method = "POST";
  http.url =
      std::string(endpoint) + FunctionPath("2015-03-31", request.function_name, "/invocations");
  if (!request.qualifier.empty()) http.url += "?Qualifier=" + UriEncode(request.qualifier, false);
  http.headers = {{"Content-Type", "application/json"}};
  if (request.type != InvocationType::kRequestResponse) {
    http.headers.emplace_back("X-Amz-Invocation-Type",
                              request.type == InvocationType::kEvent ? "Event" : "DryRun");
  }
  if (request.tail_log) http.headers.emplace_back("X-Amz-Log-Type", "Tail");
  http.body = std::move(request.payload);
  http.timeout_ms = request.timeout_ms;
  return http;
}

void LambdaClient::Invoke(const InvokeRequest& request, Callback<InvokeResult> done) {
  AwsRequest r;
  r.operation = "Invoke";
  r.http = MakeInvokeHttpRequest("", request);
  r.max_attempts = request.max_attempts;
  client_.Send(std::move(r), [done = std::move(done)](AwsResult<HttpResponse> resp) {
    if (!resp.ok()) return done(std::move(resp.error()));
    InvokeResult out;
    out.status_code = resp->status;
    out.function_error = resp->Header("x-amz-function-error");
    out.executed_version = resp->Header("x-amz-executed-version");
    out.request_id = resp->Header("x-amzn-requestid");
    out.seconds = resp->total_seconds;
    std::string log = resp->Header("x-amz-log-result");
    if (!log.empty()) {
      auto decoded = Base64Decode(log);
      if (!decoded) return done(ParseFailure("Invoke", "X-Amz-Log-Result is not base64"));
      out.log_tail = std::move(*decoded);
    }
    out.payload = std::move(resp->body);
    done(std::move(out));
  });
}

void LambdaClient::CreateFunction(const CreateFunctionRequest& req,
                                  Callback<FunctionConfiguration> done) {
  json b = {{"FunctionName", req.function_name},
            {"Role", req.role},
            {"Runtime", req.runtime},
            {"Handler", req.handler},
            {"PackageType", "Zip"}};
  if (!req.zip_file.empty()) {
    b["Code"] = {{"ZipFile", Base64Encode(req.zip_file)}};
  } else {
    b["Code"] = {{"S3Bucket", req.s3_bucket}, {"S3Key", req.s3_key}};
  }
  if (req.timeout_seconds > 0) b["Timeout"] = req.timeout_seconds;
  if (req.memory_mb > 0) b["MemorySize"] = req.memory_mb;
  if (req.ephemeral_storage_mb > 0) b["EphemeralStorage"] = {{"Size", req.ephemeral_storage_mb}};
  if (!req.architecture.empty()) b["Architectures"] = json::array({req.architecture});
  if (!req.environment.empty()) b["Environment"] = EnvJson(req.environment);
  if (!req.description.empty()) b["Description"] = req.description;
  client_.Send(JsonRequest("CreateFunction", "POST", "/2015-03-31/functions", &b),
               OnJson<FunctionConfiguration>("CreateFunction", std::move(done), ConfigFromJson));
}

void LambdaClient::GetFunction(const std::string& name, Callback<GetFunctionResult> done) {
  client_.Send(JsonRequest("GetFunction", "GET", FunctionPath("2015-03-31", name)),
               OnJson<GetFunctionResult>(
                   "GetFunction", std::move(done), [](const json& j) -> Result<GetFunctionResult> {
                     GetFunctionResult g;
                     if (!j.contains("Configuration")) {
                       return Status::ProtocolError("no Configuration");
                     }
                     PG_ASSIGN_OR_RETURN(g.configuration, ConfigFromJson(j["Configuration"]));
                     if (j.contains("Concurrency") && j["Concurrency"].is_object() &&
                         j["Concurrency"].contains("ReservedConcurrentExecutions")) {
                       g.reserved_concurrency =
                           j["Concurrency"]["ReservedConcurrentExecutions"].get<int>();
                     }
                     if (j.contains("Code") && j["Code"].is_object()) {
                       g.code_location = j["Code"].value("Location", "");
                     }
                     return g;
                   }));
}

void LambdaClient::GetFunctionConfiguration(const std::string& name,
                                            Callback<FunctionConfiguration> done) {
  client_.Send(
      JsonRequest("GetFunctionConfiguration", "GET",
                  FunctionPath("2015-03-31", name, "/configuration")),
      OnJson<FunctionConfiguration>("GetFunctionConfiguration", std::move(done), ConfigFromJson));
}

void LambdaClient::UpdateFunctionCode(const UpdateFunctionCodeRequest& req,
                                      Callback<FunctionConfiguration> done) {
  json b = json::object();
  if (!req.zip_file.empty()) {
    b["ZipFile"] = Base64Encode(req.zip_file);
  } else {
    b["S3Bucket"] = req.s3_bucket;
    b["S3Key"] = req.s3_key;
  }
  if (!req.architecture.empty()) b["Architectures"] = json::array({req.architecture});
  client_.Send(
      JsonRequest("UpdateFunctionCode", "PUT",
                  FunctionPath("2015-03-31", req.function_name, "/code"), &b),
      OnJson<FunctionConfiguration>("UpdateFunctionCode", std::move(done), ConfigFromJson));
}

void LambdaClient::UpdateFunctionConfiguration(const UpdateFunctionConfigurationRequest& req,
                                               Callback<FunctionConfiguration> done) {
  json b = json::object();
  if (req.role) b["Role"] = *req.role;
  if (req.handler) b["Handler"] = *req.handler;
  if (req.runtime) b["Runtime"] = *req.runtime;
  if (req.description) b["Description"] = *req.description;
  if (req.timeout_seconds) b["Timeout"] = *req.timeout_seconds;
  if (req.memory_mb) b["MemorySize"] = *req.memory_mb;
  if (req.ephemeral_storage_mb) b["EphemeralStorage"] = {{"Size", *req.ephemeral_storage_mb}};
  if (req.environment) b["Environment"] = EnvJson(*req.environment);
  client_.Send(JsonRequest("UpdateFunctionConfiguration", "PUT",
                           FunctionPath("2015-03-31", req.function_name, "/configuration"), &b),
               OnJson<FunctionConfiguration>("UpdateFunctionConfiguration", std::move(done),
                                             ConfigFromJson));
}

void LambdaClient::DeleteFunction(const std::string& name, Callback<Empty> done) {
  client_.Send(JsonRequest("DeleteFunction", "DELETE", FunctionPath("2015-03-31", name)),
               [done = std::move(done)](AwsResult<HttpResponse> r) {
                 if (!r.ok()) return done(std::move(r.error()));
                 done(Empty{});
               });
}

void LambdaClient::PutFunctionConcurrency(const std::string& name, int reserved,
                                          Callback<int> done) {
  json b = {{"ReservedConcurrentExecutions", reserved}};
  client_.Send(
      JsonRequest("PutFunctionConcurrency", "PUT", FunctionPath("2017-10-31", name, "/concurrency"),
                  &b),
      OnJson<int>("PutFunctionConcurrency", std::move(done), [](const json& j) -> Result<int> {
        auto it = j.find("ReservedConcurrentExecutions");
        if (it == j.end() || !it->is_number_integer()) {
          return Status::ProtocolError("no ReservedConcurrentExecutions");
        }
        return it->get<int>();
      }));
}

void LambdaClient::GetFunctionConcurrency(const std::string& name,
                                          Callback<std::optional<int>> done) {
  client_.Send(JsonRequest("GetFunctionConcurrency", "GET",
                           FunctionPath("2019-09-30", name, "/concurrency")),
               OnJson<std::optional<int>>("GetFunctionConcurrency", std::move(done),
                                          [](const json& j) -> Result<std::optional<int>> {
                                            auto it = j.find("ReservedConcurrentExecutions");
                                            if (it == j.end() || it->is_null())
                                              return std::optional<int>();
                                            if (!it->is_number_integer()) {
                                              return Status::ProtocolError(
                                                  "ReservedConcurrentExecutions is not a number");
                                            }
                                            return std::optional<int>(it->get<int>());
                                          }));
}

namespace {

Result<EventInvokeConfig> EventInvokeConfigFromJson(const json& j) {
  EventInvokeConfig c;
  for (auto [key, out] : {std::pair{"MaximumRetryAttempts", &c.maximum_retry_attempts},
                          std::pair{"MaximumEventAgeInSeconds", &c.maximum_event_age_in_seconds}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_number_integer())
      return Status::ProtocolError(std::string(key) + " is not a number");
    *out = it->get<int>();
  }
  return c;
}

}  // namespace

void LambdaClient::PutFunctionEventInvokeConfig(const std::string& name,
                                                const EventInvokeConfig& config,
                                                Callback<EventInvokeConfig> done) {
  json b = json::object();
  if (config.maximum_retry_attempts) b["MaximumRetryAttempts"] = *config.maximum_retry_attempts;
  if (config.maximum_event_age_in_seconds) {
    b["MaximumEventAgeInSeconds"] = *config.maximum_event_age_in_seconds;
  }
  client_.Send(JsonRequest("PutFunctionEventInvokeConfig", "PUT",
                           FunctionPath("2019-09-25", name, "/event-invoke-config"), &b),
               OnJson<EventInvokeConfig>("PutFunctionEventInvokeConfig", std::move(done),
                                         EventInvokeConfigFromJson));
}

void LambdaClient::GetFunctionEventInvokeConfig(const std::string& name,
                                                Callback<EventInvokeConfig> done) {
  client_.Send(JsonRequest("GetFunctionEventInvokeConfig", "GET",
                           FunctionPath("2019-09-25", name, "/event-invoke-config")),
               OnJson<EventInvokeConfig>("GetFunctionEventInvokeConfig", std::move(done),
                                         EventInvokeConfigFromJson));
}

void LambdaClient::DeleteFunctionConcurrency(const std::string& name, Callback<Empty> done) {
  client_.Send(JsonRequest("DeleteFunctionConcurrency", "DELETE",
                           FunctionPath("2017-10-31", name, "/concurrency")),
               [done = std::move(done)](AwsResult<HttpResponse> r) {
                 if (!r.ok()) return done(std::move(r.error()));
                 done(Empty{});
               });
}

void LambdaClient::GetAccountSettings(Callback<AccountSettings> done) {
  client_.Send(
      JsonRequest("GetAccountSettings", "GET", "/2016-08-19/account-settings"),
      OnJson<AccountSettings>(
          "GetAccountSettings", std::move(done), [](const json& j) -> Result<AccountSettings> {
            if (!j.contains("AccountLimit") || !j["AccountLimit"].is_object()) {
              return Status::ProtocolError("no AccountLimit");
            }
            const json& l = j["AccountLimit"];
            AccountSettings s;
            s.concurrent_executions = l.value("ConcurrentExecutions", 0);
            s.unreserved_concurrent_executions = l.value("UnreservedConcurrentExecutions", 0);
            s.code_size_zipped = l.value("CodeSizeZipped", int64_t{0});
            s.code_size_unzipped = l.value("CodeSizeUnzipped", int64_t{0});
            s.total_code_size_limit = l.value("TotalCodeSize", int64_t{0});
            if (j.contains("AccountUsage") && j["AccountUsage"].is_object()) {
              s.function_count = j["AccountUsage"].value("FunctionCount", int64_t{0});
            }
            return s;
          }));
}

void LambdaClient::WaitUntilReady(const std::string& name, bool wait_for_update, int64_t timeout_ms,
                                  Callback<FunctionConfiguration> done, int64_t poll_ms) {
  PollReady(name, wait_for_update, MonoUs() + timeout_ms * 1000, poll_ms, std::move(done));
}

void LambdaClient::PollReady(std::string name, bool wait_for_update, int64_t deadline_mono_us,
                             int64_t poll_ms, Callback<FunctionConfiguration> done) {
  GetFunctionConfiguration(
      name, [this, name, wait_for_update, deadline_mono_us, poll_ms,
             done = std::move(done)](AwsResult<FunctionConfiguration> r) mutable {
        if (!r.ok()) return done(std::move(r.error()));
        const FunctionConfiguration& c = *r;
        auto fail = [&](const std::string& what) {
          AwsError e;
          e.status = Status::Unavailable("lambda function " + name + " " + what);
          e.code = "FunctionNotReady";
          done(std::move(e));
        };
        if (c.state == "Failed") {
          return fail("failed to become active: " + c.state_reason +
                      "; fix it and update the function again");
        }
        if (wait_for_update && c.last_update_status == "Failed") {
          return fail("update failed: " + c.last_update_status_reason);
        }
        // An empty State means an old API or emulator without states: treat as ready.
        bool active = c.state.empty() || c.state == "Active";
        bool updated = !wait_for_update || c.last_update_status.empty() ||
                       c.last_update_status == "Successful";
        if (active && updated) return done(std::move(r).value());
        if (MonoUs() + poll_ms * 1000 > deadline_mono_us) {
          return fail("is still " +
                      (active ? "updating (LastUpdateStatus " + c.last_update_status + ")"
                              : "in State " + c.state) +
                      " after the wait; try again later");
        }
        client_.loop().AddTimer(poll_ms, [this, name, wait_for_update, deadline_mono_us, poll_ms,
                                          done = std::move(done)]() mutable {
          PollReady(name, wait_for_update, deadline_mono_us, poll_ms, std::move(done));
        });
      });
}

// --- Synchronous forms -------------------------------------------------------

AwsResult<InvokeResult> LambdaClient::InvokeAndWait(const InvokeRequest& r) {
  return RunUntilDone<InvokeResult>(client_.loop(), [&](auto cb) { Invoke(r, cb); });
}
AwsResult<FunctionConfiguration> LambdaClient::CreateFunctionAndWait(
    const CreateFunctionRequest& r) {
  return RunUntilDone<FunctionConfiguration>(client_.loop(),
                                             [&](auto cb) { CreateFunction(r, cb); });
}
AwsResult<GetFunctionResult> LambdaClient::GetFunctionAndWait(const std::string& n) {
  return RunUntilDone<GetFunctionResult>(client_.loop(), [&](auto cb) { GetFunction(n, cb); });
}
AwsResult<FunctionConfiguration> LambdaClient::GetFunctionConfigurationAndWait(
    const std::string& n) {
  return RunUntilDone<FunctionConfiguration>(client_.loop(),
                                             [&](auto cb) { GetFunctionConfiguration(n, cb); });
}
AwsResult<FunctionConfiguration> LambdaClient::UpdateFunctionCodeAndWait(
    const UpdateFunctionCodeRequest& r) {
  return RunUntilDone<FunctionConfiguration>(client_.loop(),
                                             [&](auto cb) { UpdateFunctionCode(r, cb); });
}
AwsResult<FunctionConfiguration> LambdaClient::UpdateFunctionConfigurationAndWait(
    const UpdateFunctionConfigurationRequest& r) {
  return RunUntilDone<FunctionConfiguration>(client_.loop(),
                                             [&](auto cb) { UpdateFunctionConfiguration(r, cb); });
}
AwsResult<Empty> LambdaClient::DeleteFunctionAndWait(const std::string& n) {
  return RunUntilDone<Empty>(client_.loop(), [&](auto cb) { DeleteFunction(n, cb); });
}
AwsResult<int> LambdaClient::PutFunctionConcurrencyAndWait(const std::string& n, int reserved) {
  return RunUntilDone<int>(client_.loop(),
                           [&](auto cb) { PutFunctionConcurrency(n, reserved, cb); });
}
AwsResult<std::optional<int>> LambdaClient::GetFunctionConcurrencyAndWait(const std::string& n) {
  return RunUntilDone<std::optional<int>>(client_.loop(),
                                          [&](auto cb) { GetFunctionConcurrency(n, cb); });
}
AwsResult<Empty> LambdaClient::DeleteFunctionConcurrencyAndWait(const std::string& n) {
  return RunUntilDone<Empty>(client_.loop(), [&](auto cb) { DeleteFunctionConcurrency(n, cb); });
}
AwsResult<AccountSettings> LambdaClient::GetAccountSettingsAndWait() {
  return RunUntilDone<AccountSettings>(client_.loop(), [&](auto cb) { GetAccountSettings(cb); });
}
AwsResult<EventInvokeConfig> LambdaClient::PutFunctionEventInvokeConfigAndWait(
    const std::string& n, const EventInvokeConfig& config) {
  return RunUntilDone<EventInvokeConfig>(
      client_.loop(), [&](auto cb) { PutFunctionEventInvokeConfig(n, config, cb); });
}
AwsResult<EventInvokeConfig> LambdaClient::GetFunctionEventInvokeConfigAndWait(
    const std::string& n) {
  return RunUntilDone<EventInvokeConfig>(client_.loop(),
                                         [&](auto cb) { GetFunctionEventInvokeConfig(n, cb); });
}
AwsResult<FunctionConfiguration> LambdaClient::WaitUntilActiveAndWait(const std::string& n,
                                                                      int64_t timeout_ms,
                                                                      int64_t poll_ms) {
  return RunUntilDone<FunctionConfiguration>(
      client_.loop(), [&](auto cb) { WaitUntilReady(n, false, timeout_ms, cb, poll_ms); });
}
AwsResult<FunctionConfiguration> LambdaClient::WaitUntilUpdatedAndWait(const std::string& n,
                                                                       int64_t timeout_ms,
                                                                       int64_t poll_ms) {
  return RunUntilDone<FunctionConfiguration>(
      client_.loop(), [&](auto cb) { WaitUntilReady(n, true, timeout_ms, cb, poll_ms); });
}

}  // namespace parallelagram::aws
