#include "driver/local_backend.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "driver/async_invoker.h"
#include "driver/command_template.h"
#include "driver/io_loop_driver.h"
#include "driver/lambda_invoker.h"
#include "driver/result_inbox.h"
#include "http/http1_client.h"
#include "http/http_client.h"
#include "local/fault_injection.h"
#include "local/local_lambda.h"
#include "os/zip_util.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFunctionName = "parallelagram-local";

class LocalBackend : public Backend {
 public:
  LocalBackend(std::unique_ptr<local::LocalLambda> service, IoLoop& loop, long max_host_connections,
               LambdaInvoker::Options invoke_options, std::string store_root,
               const BackendConfig& config)
      : service_(std::move(service)),
        timers_(loop),
        http_(MakeInvokeHttpClient(loop, max_host_connections)),
        invoker_(*http_, invoke_options),
        store_(std::move(store_root)) {
    shape_.memory_mb = config.memory_mb;
    shape_.timeout_s = config.function_timeout_s;
    shape_.local = true;
    struct utsname u {};
    if (::uname(&u) == 0 && std::string(u.machine) == "aarch64") shape_.architecture = "arm64";
    if (config.async) {
      inbox_ = std::make_unique<DirectoryResultInbox>(
          store_.root() + "/jobs/" + config.job_id + "/results", timers_);
      AsyncInvoker::Options eo;
      eo.invoke = std::move(invoke_options);
      eo.poll_interval_ms = 50;  // a directory listing is cheap
      eo.first_number = config.first_result_number;
      if (AsyncObserver* obs = config.async_observer) {
        eo.on_named = [obs](const std::string& id, const std::string& n) {
          obs->ResultNamed(id, n);
        };
        eo.before_remove = [obs] { obs->BeforeResultRemove(); };
        eo.on_poll_error = [obs](const std::string& e) { obs->ResultPollError(e); };
      }
      async_invoker_ =
          std::make_unique<AsyncInvoker>(*http_, timers_, SystemClock::Get(), *inbox_, eo);
    }
  }
  Invoker& invoker() override {
    if (async_invoker_) return *async_invoker_;
    return invoker_;
  }
  ObjectStore& store() override { return store_; }
  ResultInbox* inbox() override { return inbox_.get(); }
  std::string host() const override { return ":"; }
  FunctionShape shape() const override { return shape_; }
  HttpClient& http() { return *http_; }

 private:
  // Order matters: the service outlives the client and invoker (destroyed first).
  std::unique_ptr<local::LocalLambda> service_;
  IoLoopDriver timers_;
  std::unique_ptr<HttpClient> http_;  // the invoke path's client (Http1Client)
  LambdaInvoker invoker_;
  DirectoryObjectStore store_;
  std::unique_ptr<DirectoryResultInbox> inbox_;  // async mode only
  std::unique_ptr<AsyncInvoker> async_invoker_;  // async mode only
  FunctionShape shape_;
};

}  // namespace

Result<std::string> FindBootstrap() {
  if (const char* env = std::getenv("PG_BOOTSTRAP"); env && *env) {
    if (::access(env, X_OK) != 0) {
      return Status::NotFound(std::string("PG_BOOTSTRAP names '") + env +
                              "', which is not an executable file; fix or unset it");
    }
    return std::string(env);
  }
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    return Status::NotFound(
        "cannot locate this executable (/proc/self/exe); set PG_BOOTSTRAP "
        "to the worker binary 'bootstrap'");
  }
  std::string path =
      (fs::path(std::string(buf, static_cast<size_t>(n))).parent_path() / "bootstrap").string();
  if (::access(path.c_str(), X_OK) != 0) {
    return Status::NotFound("the worker '" + path +
                            "' is missing; build it (cmake --build --preset release) or set "
                            "PG_BOOTSTRAP to its path");
  }
  return path;
}

Result<std::unique_ptr<Backend>> StartLocalBackend(IoLoop& loop, const BackendConfig& config) {
  std::string bootstrap = config.worker;
  if (bootstrap.empty()) {
    PG_ASSIGN_OR_RETURN(bootstrap, FindBootstrap());
  }
  // The package is a one-line launcher that execs the worker where it is: the embedded
  // service runs on this machine, so shipping (zipping, base64-encoding, posting, unpacking)
  // the multi-megabyte binary on every run is pure start-up cost.
  std::string launcher =
      "#!/bin/sh\nexec " + ShellQuote(fs::absolute(bootstrap).string()) + " \"$@\"\n";
  PG_ASSIGN_OR_RETURN(std::string zip, os::MakeZip({{"bootstrap", launcher, 0755}}));
  local::LocalLambdaOptions lo;
  lo.concurrency = std::max(1, config.concurrency);
  lo.min_unreserved_concurrency = 0;
  // Fault injection for tests and drills: the same KIND=P grammar as local-lambda --inject.
  if (const char* inject = std::getenv(local::kInjectEnvVar); inject && *inject) {
    auto spec = local::FaultSpec::Parse(inject);
    if (!spec.ok()) {
      return Status::InvalidArgument(std::string(local::kInjectEnvVar) + ": " +
                                     spec.status().message());
    }
    PG_ASSIGN_OR_RETURN(lo.faults, local::RandomFaultPolicy::Create(*spec));
  }
  auto service = local::LocalLambda::Start(lo);
  if (!service.ok()) {
    return Status(service.status().code(),
                  "cannot start the embedded local Lambda: " + service.status().message());
  }
  std::string endpoint = (*service)->endpoint();

  const long max_host_connections = config.concurrency + 4;
  LambdaInvoker::Options io;
  io.endpoint = endpoint;
  io.function_name = kFunctionName;
  io.function_timeout_s = config.function_timeout_s;
  auto backend =
      std::make_unique<LocalBackend>(std::move(service).value(), loop, max_host_connections, io,
                                     config.state_root + "/store", config);

  nlohmann::json create = {{"FunctionName", kFunctionName},
                           {"Runtime", "provided.al2023"},
                           {"Role", "arn:aws:iam::123456789012:role/parallelagram-local"},
                           {"Handler", "parallelagram"},
                           {"Timeout", config.function_timeout_s},
                           {"MemorySize", config.memory_mb},
                           {"Code", {{"ZipFile", Base64Encode(zip)}}}};
  HttpRequest req;
  req.method = "POST";
  req.url = endpoint + "/2015-03-31/functions";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = create.dump();
  req.timeout_ms = 30000;
  auto resp = SendAndWait(loop, backend->http(), std::move(req));
  if (!resp.ok()) {
    return Status::Unavailable("cannot reach the embedded local Lambda: " +
                               resp.status().message());
  }
  if (resp->status != 201 && resp->status != 200) {
    return Status::Internal("the embedded local Lambda refused CreateFunction (" +
                            std::to_string(resp->status) + "): " + resp->body.substr(0, 300));
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace parallelagram::driver
