// The Lambda control plane of the local service: functions and concurrency settings.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "common/base64.h"
#include "common/clock.h"
#include "common/json_text.h"
#include "common/sha256.h"
#include "local/service.h"
#include "os/zip_util.h"

namespace parallelagram::local {

using json = nlohmann::json;

namespace {
constexpr uint64_t kMaxZipBytes = 52428800;  // 50 MB direct upload

const std::set<std::string>& ReservedEnvKeys() {
  static const std::set<std::string> keys = {"_HANDLER",
                                             "_X_AMZN_TRACE_ID",
                                             "AWS_DEFAULT_REGION",
                                             "AWS_REGION",
                                             "AWS_EXECUTION_ENV",
                                             "AWS_LAMBDA_FUNCTION_NAME",
                                             "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                             "AWS_LAMBDA_FUNCTION_VERSION",
                                             "AWS_LAMBDA_INITIALIZATION_TYPE",
                                             "AWS_LAMBDA_LOG_GROUP_NAME",
                                             "AWS_LAMBDA_LOG_STREAM_NAME",
                                             "AWS_ACCESS_KEY",
                                             "AWS_ACCESS_KEY_ID",
                                             "AWS_SECRET_ACCESS_KEY",
                                             "AWS_SESSION_TOKEN",
                                             "AWS_LAMBDA_RUNTIME_API",
                                             "LAMBDA_TASK_ROOT",
                                             "LAMBDA_RUNTIME_DIR"};
  return keys;
}

// The architecture this machine's processes run: the only one local-lambda can run.
const std::string& HostArchitecture() {
#if defined(__aarch64__)
  static const std::string arch = "arm64";
#else
  static const std::string arch = "x86_64";
#endif
  return arch;
}

// Lambda's limit on a function's environment variables, measured as their JSON map.
constexpr size_t kEnvironmentLimitBytes = 4096;

// Lambda's model for a variable's name: [a-zA-Z]([a-zA-Z0-9_])+
bool IsEnvKey(const std::string& k) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (k.size() < 2 || !alpha(k[0])) return false;
  for (char c : k) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

std::string Validation(const std::string& value, const std::string& field,
                       const std::string& constraint) {
  return fmt::format(
      "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: {}", value,
      field, constraint);
}
}  // namespace

bool Service::ParseBody(const ExPtr& ex, const std::string& rid, json* out) {
  const std::string& body = ex->request().body();
  *out = json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
  if (!out->is_object()) {
    ReplyError(ex, 400, "InvalidRequestContentException",
               "Could not parse request body into json: the body is not a JSON object", rid);
    return false;
  }
  return true;
}

json Service::ConfigJson(const Function& f) const {
  const auto& c = f.config;
  json j = {{"FunctionName", c.name},
            {"FunctionArn", f.arn},
            {"Runtime", c.runtime},
            {"Role", c.role},
            {"Handler", c.handler},
            {"CodeSize", c.code_size},
            {"Description", c.description},
            {"Timeout", c.timeout_s},
            {"MemorySize", c.memory_mb},
            {"LastModified", c.last_modified},
            {"CodeSha256", c.code_sha256},
            {"Version", "$LATEST"},
            {"TracingConfig", {{"Mode", "PassThrough"}}},
            {"RevisionId", c.revision_id},
            {"PackageType", "Zip"},
            {"Architectures", {c.architecture}},
            {"EphemeralStorage", {{"Size", c.ephemeral_storage_mb}}},
            {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
            {"LoggingConfig", {{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + c.name}}}};
  if (!c.environment.empty()) j["Environment"] = {{"Variables", c.environment}};
  const int64_t now = SystemClock::Get().NowEpochMs();
  if (now < f.pending_until_ms) {
    j["State"] = "Pending";
    j["StateReason"] = "The function is being created.";
    j["StateReasonCode"] = "Creating";
    j["LastUpdateStatus"] = "InProgress";
    j["LastUpdateStatusReason"] = "The function is being created.";
    j["LastUpdateStatusReasonCode"] = "Creating";
  } else {
    j["State"] = "Active";
    j["LastUpdateStatus"] = now < f.updating_until_ms ? "InProgress" : "Successful";
  }
  return j;
}

bool Service::RefuseWhileChanging(const ExPtr& ex, const std::string& rid, const Function& f) {
  const int64_t now = SystemClock::Get().NowEpochMs();
  if (now >= f.pending_until_ms && now >= f.updating_until_ms) return false;
  ReplyError(ex, 409, "ResourceConflictException",
             "The operation cannot be performed at this time. An update is in progress for "
             "resource: " +
                 f.arn,
             rid);
  return true;
}

bool Service::ApplyConfig(const ExPtr& ex, const std::string& rid, const json& body,
                          FunctionConfig* cfg, bool creating) {
  auto bad = [&](const std::string& type, const std::string& msg) {
    ReplyError(ex, 400, type, msg, rid);
    return false;
  };
  auto str = [&](const char* key, std::string* dst) {
    if (!body.contains(key)) return true;
    if (!body[key].is_string()) return false;
    *dst = body[key].get<std::string>();
    return true;
  };
  if (!str("Role", &cfg->role) || !str("Handler", &cfg->handler) ||
      !str("Description", &cfg->description) || !str("Runtime", &cfg->runtime)) {
    return bad("InvalidRequestContentException",
               "Could not parse request body into json: a string field holds another type");
  }
  if (creating && body.value("PackageType", std::string("Zip")) != "Zip") {
    return bad("InvalidParameterValueException",
               "local-lambda runs Zip packages only; create the function with PackageType Zip.");
  }
  if (cfg->runtime != "provided.al2023" && cfg->runtime != "provided.al2") {
    return bad("InvalidParameterValueException",
               fmt::format("The runtime parameter of {} is not supported by local-lambda; use "
                           "provided.al2023 or provided.al2.",
                           cfg->runtime.empty() ? "(none)" : cfg->runtime));
  }
  if (body.contains("Architectures")) {
    const json& a = body["Architectures"];
    if (!a.is_array() || a.size() != 1 || !a[0].is_string() ||
        (a[0] != "x86_64" && a[0] != "arm64")) {
      return bad("ValidationException",
                 Validation(DumpLenient(a), "architectures",
                            "Member must have length less than or equal to 1, Member must "
                            "satisfy enum value set: [x86_64, arm64]"));
    }
    if (a[0] != HostArchitecture()) {
      return bad("InvalidParameterValueException",
                 "local-lambda on this " + HostArchitecture() + " machine cannot run " +
                     a[0].get<std::string>() + " functions; use Architectures [\"" +
                     HostArchitecture() + "\"].");
    }
    cfg->architecture = a[0].get<std::string>();
  }
  if (body.contains("EphemeralStorage")) {
    const json& e = body["EphemeralStorage"];
    if (!e.is_object() || !e.contains("Size") || !e["Size"].is_number_integer()) {
      return bad("InvalidRequestContentException",
                 "Could not parse request body into json: EphemeralStorage.Size must be an "
                 "integer");
    }
    const int64_t size = e["Size"].get<int64_t>();
    if (size < 512 || size > 10240) {
      return bad("ValidationException",
                 Validation(std::to_string(size), "ephemeralStorage.size",
                            size < 512 ? "Member must have value greater than or equal to 512"
                                       : "Member must have value less than or equal to 10240"));
    }
    cfg->ephemeral_storage_mb = static_cast<int>(size);
  }
  if (creating && cfg->role.empty()) {
    return bad("ValidationException", Validation("null", "role", "Member must not be null"));
  }
  if (body.contains("Timeout")) {
    if (!body["Timeout"].is_number_integer()) {
      return bad("InvalidRequestContentException",
                 "Could not parse request body into json: Timeout must be an integer");
    }
    int64_t t = body["Timeout"].get<int64_t>();
    if (t < 1 || t > 900) {
      return bad("ValidationException",
                 Validation(std::to_string(t), "timeout",
                            t < 1 ? "Member must have value greater than or equal to 1"
                                  : "Member must have value less than or equal to 900"));
    }
    cfg->timeout_s = static_cast<int>(t);
  }
  if (body.contains("MemorySize")) {
    if (!body["MemorySize"].is_number_integer()) {
      return bad("InvalidRequestContentException",
                 "Could not parse request body into json: MemorySize must be an integer");
    }
    int64_t m = body["MemorySize"].get<int64_t>();
    if (m < 128 || m > 10240) {
      return bad("ValidationException",
                 Validation(std::to_string(m), "memorySize",
                            m < 128 ? "Member must have value greater than or equal to 128"
                                    : "Member must have value less than or equal to 10240"));
    }
    cfg->memory_mb = static_cast<int>(m);
  }
  if (body.contains("Environment")) {
    const json& env = body["Environment"];
    std::map<std::string, std::string> vars;
    if (env.is_object() && env.contains("Variables")) {
      if (!env["Variables"].is_object()) {
        return bad("InvalidRequestContentException",
                   "Could not parse request body into json: Environment.Variables must be a map");
      }
      std::vector<std::string> reserved;
      for (auto& [k, v] : env["Variables"].items()) {
        if (!v.is_string()) {
          return bad("InvalidRequestContentException",
                     "Could not parse request body into json: environment values are strings");
        }
        if (!IsEnvKey(k)) {
          return bad("ValidationException",
                     "1 validation error detected: Value at 'environment.variables' failed to "
                     "satisfy constraint: Map keys must satisfy constraint: [Member must satisfy "
                     "regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
        }
        if (v.get_ref<const std::string&>().find('\0') != std::string::npos) {
          return bad("InvalidParameterValueException",
                     "Lambda was unable to configure your environment variables because the "
                     "value of " +
                         k + " holds a NUL character, which no process environment can");
        }
        if (ReservedEnvKeys().count(k)) reserved.push_back(k);
        vars[k] = v.get<std::string>();
      }
      if (!reserved.empty()) {
        std::string list;
        for (const auto& k : reserved) list += (list.empty() ? "" : ", ") + k;
        return bad("InvalidParameterValueException",
                   "Lambda was unable to configure your environment variables because the "
                   "environment variables you have provided contains reserved keys that are "
                   "currently not supported for modification. Reserved keys used in this "
                   "request: " +
                       list);
      }
    }
    const std::string measured = json(vars).dump();
    if (measured.size() > kEnvironmentLimitBytes) {
      return bad("InvalidParameterValueException",
                 "Lambda was unable to configure your environment variables because the "
                 "environment variables you have provided exceeded the 4KB limit (" +
                     std::to_string(measured.size()) + " bytes)");
    }
    cfg->environment = std::move(vars);
  }
  cfg->last_modified = LambdaTimestamp(SystemClock::Get().NowEpochMs());
  cfg->revision_id = NewRequestId();
  return true;
}

bool Service::InstallCode(const ExPtr& ex, const std::string& rid, const json& zip_field,
                          Function* f, int generation) {
  if (!zip_field.is_string()) {
    ReplyError(ex, 400, "InvalidParameterValueException",
               zip_field.is_null() ? "Please provide a source for function code."
                                   : "ZipFile must be base64-encoded zip bytes.",
               rid);
    return false;
  }
  auto bytes = Base64Decode(zip_field.get<std::string>());
  if (!bytes) {
    ReplyError(ex, 400, "InvalidRequestContentException",
               "Could not parse request body into json: ZipFile is not valid base64", rid);
    return false;
  }
  if (bytes->size() > kMaxZipBytes) {
    ReplyError(ex, 413, "RequestEntityTooLargeException",
               fmt::format("Request must be smaller than {} bytes for the CreateFunction "
                           "operation",
                           69905067),
               rid);
    return false;
  }
  std::string fdir = fmt::format("{}/functions/{}", work_dir_, f->config.name);
  mkdir((work_dir_ + "/functions").c_str(), 0755);
  mkdir(fdir.c_str(), 0755);
  std::string dir = fmt::format("{}/{}-{}", fdir, generation, next_env_id_++);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  mkdir(dir.c_str(), 0755);
  auto unpacked = os::UnpackZip(*bytes, dir);
  if (!unpacked.ok() || !unpacked->has_executable_bootstrap) {
    std::filesystem::remove_all(dir, ec);
    rmdir(fdir.c_str());  // the function's directory too, unless other code is in it
    if (!unpacked.ok() && unpacked.status().code() == StatusCode::kIoError) {
      ReplyError(ex, 500, "ServiceException",
                 "local-lambda could not store the code: " + unpacked.status().message(), rid);
      return false;
    }
    std::string msg =
        !unpacked.ok()
            ? (unpacked.status().message().rfind("not a zip", 0) == 0
                   ? std::string("Could not unzip uploaded file. Please check your file, then "
                                 "try to upload again.")
                   : "Could not unzip uploaded file: " + unpacked.status().message() + ".")
            : fmt::format(
                  "The deployment package must contain an executable file named "
                  "bootstrap at its root for runtime {}. Add it (chmod 755) and upload "
                  "again.",
                  f->config.runtime);
    ReplyError(ex, 400, "InvalidParameterValueException", msg, rid);
    return false;
  }
  f->code_dir = dir;
  f->config.code_size = static_cast<int64_t>(bytes->size());
  f->config.code_sha256 = Base64Encode(Sha256Raw(*bytes));
  return true;
}

void Service::CreateFunction(const ExPtr& ex, const std::string& rid) {
  json body;
  if (!ParseBody(ex, rid, &body)) return;
  if (!body.contains("FunctionName") || !body["FunctionName"].is_string()) {
    ReplyError(ex, 400, "ValidationException",
               Validation("null", "functionName", "Member must not be null"), rid);
    return;
  }
  std::string qualifier;
  auto name = ParseFunctionName(body["FunctionName"].get<std::string>(), &qualifier);
  if (!name || !qualifier.empty()) {
    ReplyError(ex, 400, "ValidationException",
               Validation(body["FunctionName"].get<std::string>(), "functionName",
                          "Member must satisfy regular expression pattern: "
                          "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
                          "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"),
               rid);
    return;
  }
  if (functions_.count(*name)) {
    ReplyError(ex, 409, "ResourceConflictException", "Function already exist: " + *name, rid);
    return;
  }
  auto f = std::make_shared<Function>();
  f->config.name = *name;
  f->arn = FunctionArn(*name);
  if (!ApplyConfig(ex, rid, body, &f->config, true)) return;
  json code = body.value("Code", json::object());
  if (!code.is_object()) code = json::object();
  if (code.contains("S3Bucket") || code.contains("ImageUri")) {
    ReplyError(ex, 400, "InvalidParameterValueException",
               "local-lambda cannot fetch code from S3 or an image; upload the zip as ZipFile.",
               rid);
    return;
  }
  if (!InstallCode(ex, rid, code.value("ZipFile", json()), f.get(), 0)) return;
  f->pending_until_ms = SystemClock::Get().NowEpochMs() + options_.state_delay_ms;
  functions_[*name] = f;
  ReplyJson(ex, 201, ConfigJson(*f), rid);
}

void Service::GetFunction(const ExPtr& ex, const std::string& rid, const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, true);
  if (!f) return;
  // No Code.Location: local-lambda keeps the unpacked code, not the zip, so there is nothing
  // to download (a URL there would answer 404 to the clients that fetch it).
  json j = {{"Configuration", ConfigJson(*f)}, {"Code", {{"RepositoryType", "S3"}}}};
  if (f->reserved) j["Concurrency"] = {{"ReservedConcurrentExecutions", *f->reserved}};
  ReplyJson(ex, 200, j, rid);
}

void Service::GetFunctionConfiguration(const ExPtr& ex, const std::string& rid,
                                       const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, true);
  if (!f) return;
  ReplyJson(ex, 200, ConfigJson(*f), rid);
}

void Service::RetireIdle(Function& f) {
  auto idle = std::move(f.idle);
  f.idle.clear();
  f.returning.clear();  // they are killed when they reach GET /next (OnIdle)
  for (const auto& env : idle) env->Kill();
}

void Service::UpdateFunctionCode(const ExPtr& ex, const std::string& rid, const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, false);
  if (!f) return;
  if (RefuseWhileChanging(ex, rid, *f)) return;
  json body;
  if (!ParseBody(ex, rid, &body)) return;
  if (body.contains("Architectures")) {
    FunctionConfig arch = f->config;
    if (!ApplyConfig(ex, rid, json{{"Architectures", body["Architectures"]}}, &arch, false)) {
      return;
    }
  }
  if (body.contains("S3Bucket") || body.contains("ImageUri")) {
    ReplyError(ex, 400, "InvalidParameterValueException",
               "local-lambda cannot fetch code from S3 or an image; upload the zip as ZipFile.",
               rid);
    return;
  }
  Function staged = *f;
  staged.idle.clear();
  staged.returning.clear();
  if (!InstallCode(ex, rid, body.value("ZipFile", json()), &staged, f->generation + 1)) return;
  std::string old_code_dir = f->code_dir;
  f->code_dir = staged.code_dir;
  f->config.code_size = staged.config.code_size;
  f->config.code_sha256 = staged.config.code_sha256;
  f->config.last_modified = LambdaTimestamp(SystemClock::Get().NowEpochMs());
  f->config.revision_id = NewRequestId();
  if (body.contains("Architectures")) f->config.architecture = body["Architectures"][0];
  f->generation++;
  f->updating_until_ms = SystemClock::Get().NowEpochMs() + options_.state_delay_ms;
  RetireIdle(*f);
  RetireCodeDir(old_code_dir);
  ReplyJson(ex, 200, ConfigJson(*f), rid);
}

void Service::UpdateFunctionConfiguration(const ExPtr& ex, const std::string& rid,
                                          const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, false);
  if (!f) return;
  if (RefuseWhileChanging(ex, rid, *f)) return;
  json body;
  if (!ParseBody(ex, rid, &body)) return;
  if (body.contains("Architectures")) {  // not a configuration field (UpdateFunctionCode's)
    ReplyError(ex, 400, "InvalidRequestContentException",
               "Could not parse request body into json: Unrecognized field \"Architectures\"", rid);
    return;
  }
  FunctionConfig cfg = f->config;
  if (!ApplyConfig(ex, rid, body, &cfg, false)) return;
  f->config = std::move(cfg);
  f->generation++;
  f->updating_until_ms = SystemClock::Get().NowEpochMs() + options_.state_delay_ms;
  RetireIdle(*f);
  ReplyJson(ex, 200, ConfigJson(*f), rid);
}

void Service::DeleteFunction(const ExPtr& ex, const std::string& rid, const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, true);
  if (!f) return;
  f->deleted = true;
  functions_.erase(f->config.name);
  RetireIdle(*f);
  RetireCodeDir(f->code_dir);
  Reply(ex, MakeResponse(ex->request(), 204, "", ""), rid);
  PumpEvents();
}

void Service::ListFunctions(const ExPtr& ex, const std::string& rid) {
  // As Lambda: 50 per page unless MaxItems (1..10000) says otherwise; Marker is the opaque
  // NextMarker of the page before (here: the base64 of the next function's name).
  const std::string max_items = QueryParam(ex, "MaxItems");
  int64_t page = 50;
  if (!max_items.empty()) {
    char* end = nullptr;
    page = std::strtoll(max_items.c_str(), &end, 10);
    if (*end != '\0' || page < 1 || page > 10000) {
      ReplyError(ex, 400, "ValidationException",
                 Validation(max_items, "maxItems", "Member must have value between 1 and 10000"),
                 rid);
      return;
    }
  }
  auto it = functions_.begin();
  const std::string marker = QueryParam(ex, "Marker");
  if (!marker.empty()) {
    auto from = Base64Decode(marker);
    if (!from) {
      ReplyError(ex, 400, "InvalidParameterValueException", "Invalid marker: " + marker, rid);
      return;
    }
    it = functions_.lower_bound(*from);
  }
  json list = json::array();
  for (; it != functions_.end() && static_cast<int64_t>(list.size()) < page; ++it) {
    list.push_back(ConfigJson(*it->second));
  }
  json out{{"Functions", list}};
  if (it != functions_.end()) out["NextMarker"] = Base64Encode(it->first);
  ReplyJson(ex, 200, out, rid);
}

void Service::PutFunctionConcurrency(const ExPtr& ex, const std::string& rid,
                                     const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, false);
  if (!f) return;
  json body;
  if (!ParseBody(ex, rid, &body)) return;
  if (!body.contains("ReservedConcurrentExecutions") ||
      !body["ReservedConcurrentExecutions"].is_number_integer() ||
      body["ReservedConcurrentExecutions"].get<int64_t>() < 0) {
    ReplyError(ex, 400, "InvalidParameterValueException",
               "ReservedConcurrentExecutions must be an integer of at least 0.", rid);
    return;
  }
  int64_t n = body["ReservedConcurrentExecutions"].get<int64_t>();
  int64_t others = ReservedTotal() - f->reserved.value_or(0);
  if (options_.concurrency - others - n < MinUnreserved()) {
    ReplyError(ex, 400, "InvalidParameterValueException",
               fmt::format("Specified ReservedConcurrentExecutions for function decreases "
                           "account's UnreservedConcurrentExecution below its minimum value of "
                           "[{}].",
                           MinUnreserved()),
               rid);
    return;
  }
  f->reserved = static_cast<int>(n);
  ReplyJson(ex, 200, json{{"ReservedConcurrentExecutions", n}}, rid);
  PumpEvents();
}

void Service::GetFunctionConcurrency(const ExPtr& ex, const std::string& rid,
                                     const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, false);
  if (!f) return;
  json j = json::object();
  if (f->reserved) j["ReservedConcurrentExecutions"] = *f->reserved;
  ReplyJson(ex, 200, j, rid);
}

void Service::DeleteFunctionConcurrency(const ExPtr& ex, const std::string& rid,
                                        const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, false);
  if (!f) return;
  f->reserved.reset();
  Reply(ex, MakeResponse(ex->request(), 204, "", ""), rid);
  PumpEvents();
}

void Service::GetAccountSettings(const ExPtr& ex, const std::string& rid) {
  int64_t code = 0;
  for (const auto& [name, f] : functions_) code += f->config.code_size;
  json j = {
      {"AccountLimit",
       {{"TotalCodeSize", 80530636800LL},
        {"CodeSizeUnzipped", 262144000},
        {"CodeSizeZipped", 52428800},
        {"ConcurrentExecutions", options_.concurrency},
        {"UnreservedConcurrentExecutions", options_.concurrency - ReservedTotal()}}},
      {"AccountUsage",
       {{"TotalCodeSize", code}, {"FunctionCount", static_cast<int64_t>(functions_.size())}}}};
  ReplyJson(ex, 200, j, rid);
}

}  // namespace parallelagram::local
