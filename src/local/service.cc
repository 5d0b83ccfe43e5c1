#include "local/service.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/clock.h"
#include "common/json_text.h"
#include "local/auth.h"
#include "local/process_util.h"

extern char** environ;

namespace parallelagram::local {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {
// Lambda's limit on X-Amz-Client-Context (base64).
constexpr size_t kClientContextLimit = 3583;

// Lambda's log stream name: YYYY/MM/DD/[$LATEST] and 32 hex digits.
std::string LogStreamName(int64_t epoch_ms) {
  const std::string day = IsoTimestampMs(epoch_ms).substr(0, 10);  // YYYY-MM-DD
  std::string hex = NewRequestId();
  std::erase(hex, '-');
  return day.substr(0, 4) + "/" + day.substr(5, 2) + "/" + day.substr(8, 2) + "/[$LATEST]" + hex;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(PercentDecode(path.substr(i, j - i)));
    i = j;
  }
  return parts;
}

}  // namespace

Service::Service(asio::io_context& io, LocalLambdaOptions options, std::string work_dir)
    : io_(io),
      options_(std::move(options)),
      work_dir_(std::move(work_dir)),
      pump_timer_(io),
      memory_timer_(io) {}

Service::~Service() { Shutdown(); }

std::string Service::QueryParam(const ExPtr& ex, const std::string& name) {
  const std::string_view target = ex->request().target();
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  const std::string query(target.substr(q + 1));
  size_t i = 0;
  while (i < query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string kv = query.substr(i, amp - i);
    size_t eq = kv.find('=');
    if (PercentDecode(kv.substr(0, eq)) == name) {
      return eq == std::string::npos ? "" : PercentDecode(kv.substr(eq + 1));
    }
    i = amp + 1;
  }
  return "";
}

Status Service::Listen() {
  auto server = HttpServer::Listen(io_, options_.host, options_.port, kApiBodyLimit,
                                   [this](std::shared_ptr<HttpExchange> ex) { OnApiRequest(ex); });
  if (!server.ok()) return server.status();
  api_ = std::move(server).value();
  // Careless or hostile clients: connections capped (a quarter of the descriptors we may
  // open, the rest for environments, their pipes and files), idle ones closed, large bodies
  // (CreateFunction's zips) read two at a time. No floor above a quarter: connections alone
  // must never exhaust the descriptors, or an invocation could not open a pipe.
  rlimit nofile{};
  uint64_t fds = getrlimit(RLIMIT_NOFILE, &nofile) == 0 ? nofile.rlim_cur : 1024;
  HttpServer::Limits limits;
  limits.max_connections = static_cast<size_t>(std::clamp<uint64_t>(fds / 4, 4, 65536));
  limits.idle_timeout_ms = options_.api_idle_timeout_ms;
  limits.large_body_bytes = kSyncPayloadLimit + 1024;
  limits.large_body_budget = 2 * kApiBodyLimit;
  api_->set_limits(limits);
  return Status::Ok();
}

void Service::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (api_) api_->Close();
  pump_timer_.cancel();
  memory_timer_.cancel();
  events_.clear();
  auto envs = envs_;
  envs_.clear();
  for (auto& [name, f] : functions_) {
    f->idle.clear();
    f->returning.clear();
  }
  std::vector<pid_t> sids;
  for (const auto& env : envs) {
    if (env->alive()) sids.push_back(env->pid());
  }
  KillSessions(sids, SIGKILL);  // one /proc scan for all, not one per environment
  for (const auto& env : envs) env->Reap();
}

void Service::Reply(const ExPtr& ex, HttpResponseMsg res, const std::string& rid) {
  res.set("x-amzn-RequestId", rid);
  ex->Reply(std::move(res));
}

void Service::ReplyJson(const ExPtr& ex, int status, const json& body, const std::string& rid) {
  Reply(ex, MakeResponse(ex->request(), status, DumpLenient(body)), rid);
}

void Service::ReplyError(const ExPtr& ex, int status, const std::string& type,
                         const std::string& msg, const std::string& rid) {
  ex->Reply(AwsError(ex->request(), status, type, msg, rid));
}

std::string Service::FunctionArn(const std::string& name) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", options_.region, options_.account_id,
                     name);
}

std::shared_ptr<Function> Service::FindOr404(const ExPtr& ex, const std::string& ref,
                                             const std::string& rid, bool allow_qualifier,
                                             std::string* qualifier_out) {
  std::string qualifier;
  auto name = ParseFunctionName(ref, &qualifier);
  if (!name) {
    ReplyError(ex, 400, "ValidationException",
               "1 validation error detected: Value '" + ref +
                   "' at 'functionName' failed to satisfy constraint: Member must satisfy "
                   "regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-"
                   "[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-"
                   "Z0-9-_]+))?",
               rid);
    return nullptr;
  }
  std::string qp = QueryParam(ex, "Qualifier");
  if (!qp.empty()) qualifier = qp;
  auto it = functions_.find(*name);
  if (it == functions_.end() ||
      (!qualifier.empty() && (!allow_qualifier || qualifier != "$LATEST"))) {
    std::string arn = FunctionArn(*name);
    if (!qualifier.empty()) arn += ":" + qualifier;
    ReplyError(ex, 404, "ResourceNotFoundException", "Function not found: " + arn, rid);
    return nullptr;
  }
  if (qualifier_out != nullptr) *qualifier_out = qualifier;
  return it->second;
}

void Service::OnApiRequest(const ExPtr& ex) {
  std::string rid = NewRequestId();
  const auto& req = ex->request();
  if (shut_down_) {
    ReplyError(ex, 500, "ServiceException", "local-lambda is shutting down", rid);
    return;
  }
  if (!options_.access_key_id.empty() || !options_.secret_access_key.empty()) {
    AuthFailure fail;
    if (!VerifyRequestSignature(req, ex->body_too_large(), options_, &fail)) {
      ReplyError(ex, fail.status, fail.type, fail.message, rid);
      return;
    }
  }
  std::string target(req.target());
  size_t q = target.find('?');
  std::vector<std::string> p = SplitPath(target.substr(0, q));
  auto verb = req.method();
  bool is_invoke = p.size() == 4 && p[0] == "2015-03-31" && p[1] == "functions" &&
                   p[3] == "invocations" && verb == http::verb::post;
  if (ex->body_too_large() && !is_invoke) {
    ReplyError(
        ex, 413, "RequestEntityTooLargeException",
        fmt::format("Request must be smaller than {} bytes for the operation", kApiBodyLimit), rid);
    return;
  }
  if (is_invoke) return Invoke(ex, rid, p[2]);
  if (p.size() >= 2 && p[0] == "2015-03-31" && p[1] == "functions") {
    if (p.size() == 2 && verb == http::verb::post) return CreateFunction(ex, rid);
    if (p.size() == 2 && verb == http::verb::get) return ListFunctions(ex, rid);
    if (p.size() == 3 && verb == http::verb::get) return GetFunction(ex, rid, p[2]);
    if (p.size() == 3 && verb == http::verb::delete_) return DeleteFunction(ex, rid, p[2]);
    if (p.size() == 4 && p[3] == "configuration" && verb == http::verb::get) {
      return GetFunctionConfiguration(ex, rid, p[2]);
    }
    if (p.size() == 4 && p[3] == "configuration" && verb == http::verb::put) {
      return UpdateFunctionConfiguration(ex, rid, p[2]);
    }
    if (p.size() == 4 && p[3] == "code" && verb == http::verb::put) {
      return UpdateFunctionCode(ex, rid, p[2]);
    }
  }
  if (p.size() == 4 && p[1] == "functions" && p[3] == "concurrency") {
    if (p[0] == "2017-10-31" && verb == http::verb::put)
      return PutFunctionConcurrency(ex, rid, p[2]);
    if (p[0] == "2017-10-31" && verb == http::verb::delete_) {
      return DeleteFunctionConcurrency(ex, rid, p[2]);
    }
    if (p[0] == "2019-09-30" && verb == http::verb::get)
      return GetFunctionConcurrency(ex, rid, p[2]);
  }
  if (p.size() == 4 && p[0] == "2019-09-25" && p[1] == "functions" &&
      p[3] == "event-invoke-config") {
    if (verb == http::verb::put) return PutFunctionEventInvokeConfig(ex, rid, p[2]);
    if (verb == http::verb::get) return GetFunctionEventInvokeConfig(ex, rid, p[2]);
    if (verb == http::verb::delete_) return DeleteFunctionEventInvokeConfig(ex, rid, p[2]);
  }
  if (p.size() == 2 && p[0] == "2016-08-19" && p[1] == "account-settings" &&
      verb == http::verb::get) {
    return GetAccountSettings(ex, rid);
  }
  ReplyError(
      ex, 404, "UnknownOperationException",
      "local-lambda does not serve " + std::string(req.method_string()) + " " + target.substr(0, q),
      rid);
}

// ---- Invoke ----

void Service::Invoke(const ExPtr& ex, const std::string& rid, const std::string& ref) {
  const auto& req = ex->request();
  std::string type(req["X-Amz-Invocation-Type"]);
  if (type.empty()) type = "RequestResponse";
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    ReplyError(ex, 400, "InvalidParameterValueException",
               "1 validation error detected: Value '" + type +
                   "' at 'invocationType' failed to satisfy constraint: Member must satisfy "
                   "enum value set: [Event, RequestResponse, DryRun]",
               rid);
    return;
  }
  const std::string log_type(req["X-Amz-Log-Type"]);
  if (!log_type.empty() && log_type != "None" && log_type != "Tail") {
    ReplyError(ex, 400, "InvalidParameterValueException",
               "1 validation error detected: Value '" + log_type +
                   "' at 'logType' failed to satisfy constraint: Member must satisfy enum value "
                   "set: [Tail, None]",
               rid);
    return;
  }
  uint64_t limit = type == "Event" ? kEventPayloadLimit : kSyncPayloadLimit;
  if (ex->body_too_large() || req.body().size() > limit) {
    ReplyError(ex, 413, "RequestTooLargeException",
               fmt::format("Request must be smaller than {} bytes for the {} operation", limit,
                           type == "Event" ? "InvokeAsyncFunction" : "InvokeFunction"),
               rid);
    return;
  }
  std::string qualifier;
  auto f = FindOr404(ex, ref, rid, true, &qualifier);
  if (!f) return;
  if (SystemClock::Get().NowEpochMs() < f->pending_until_ms) {
    ReplyError(ex, 409, "ResourceConflictException",
               "The operation cannot be performed at this time. The function is currently in "
               "the following state: Pending",
               rid);
    return;
  }
  // X-Amz-Client-Context: base64 of a JSON object, given to the runtime decoded.
  std::string client_context;
  if (const std::string cc(req["X-Amz-Client-Context"]); !cc.empty()) {
    auto decoded = Base64Decode(cc);
    json parsed = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (cc.size() > kClientContextLimit || !parsed.is_object()) {
      ReplyError(ex, 400, "InvalidRequestContentException",
                 "Client context must be a valid Base64-encoded JSON object of at most 3583 "
                 "bytes.",
                 rid);
      return;
    }
    client_context = DumpLenient(parsed);  // one line: it travels as a header
  }
  std::string payload = req.body();
  if (payload.empty()) payload = "{}";
  if (!json::accept(payload)) {
    std::string why = "not valid JSON";
    try {
      json parsed = json::parse(payload);
      why = "not valid JSON: " + DumpLenient(parsed).substr(0, 0);
    } catch (const json::parse_error& e) {
      why = e.what();
    }
    ReplyError(ex, 400, "InvalidRequestContentException",
               "Could not parse request body into json: Could not parse payload into json: " + why,
               rid);
    return;
  }
  FaultKind fault = FaultKind::kNone;
  if (options_.faults && type != "DryRun") {
    fault = options_.faults->OnInvoke(f->config.name, type);
    if (fault != FaultKind::kNone) options_.faults->Injected(fault, rid, payload);
  }
  if (fault == FaultKind::kThrottle) {
    auto res = AwsErrorWith(req, 429, "TooManyRequestsException", "Rate Exceeded.", rid,
                            json{{"Reason", "ConcurrentInvocationLimitExceeded"}});
    res.set("Retry-After", "1");
    ex->Reply(std::move(res));
    return;
  }
  if (fault == FaultKind::kServiceError) {
    ReplyError(ex, 500, "ServiceException",
               "An error occurred and the request cannot be processed (injected by local-lambda "
               "--inject service-error).",
               rid);
    return;
  }
  if (type == "DryRun") {
    Reply(ex, MakeResponse(req, 204, "", ""), rid);
    return;
  }
  auto inv = std::make_unique<Invocation>();
  inv->request_id = rid;
  inv->function = f;
  inv->invoked_arn = qualifier.empty() ? f->arn : f->arn + ":" + qualifier;
  inv->client_context = std::move(client_context);
  inv->payload = std::move(payload);
  if (fault == FaultKind::kCrash) inv->crash_after_ms = options_.faults->RandomMs(0, 50);
  if (fault == FaultKind::kHang) inv->hang = true;
  if (fault == FaultKind::kSlowStart) inv->slow_start_ms = options_.faults->RandomMs(1000, 2000);
  if (type == "Event") {
    inv->sync = false;
    inv->first_enqueued_ms = SystemClock::Get().NowEpochMs();
    if (fault == FaultKind::kDuplicate) events_.push_back(std::make_unique<Invocation>(*inv));
    events_.push_back(std::move(inv));
    Reply(ex, MakeResponse(req, 202, "", ""), rid);
    PumpEvents();
    return;
  }
  std::string reason;
  if (!Admit(*f, &reason)) {
    auto res = AwsErrorWith(req, 429, "TooManyRequestsException", "Rate Exceeded.", rid,
                            json{{"Reason", reason}});
    res.set("Retry-After", "1");
    ex->Reply(std::move(res));
    return;
  }
  inv->sync = true;
  inv->tail = log_type == "Tail";
  inv->client = ex;
  Assign(std::move(inv));
}

int Service::ReservedTotal() const {
  int total = 0;
  for (const auto& [name, f] : functions_) total += f->reserved.value_or(0);
  return total;
}

int Service::MinUnreserved() const {
  if (options_.min_unreserved_concurrency >= 0) return options_.min_unreserved_concurrency;
  return std::min(100, options_.concurrency / 10);
}

bool Service::Admit(const Function& f, std::string* reason) const {
  if (f.reserved) {
    if (f.inflight >= *f.reserved) {
      *reason = "ReservedFunctionConcurrentInvocationLimitExceeded";
      return false;
    }
    return true;
  }
  int unreserved_inflight = 0;
  for (const auto& [name, g] : functions_) {
    if (!g->reserved) unreserved_inflight += g->inflight;
  }
  if (unreserved_inflight >= options_.concurrency - ReservedTotal()) {
    *reason = "ConcurrentInvocationLimitExceeded";
    return false;
  }
  return true;
}

std::vector<std::string> Service::BaseEnvironment(const Function& f,
                                                  const std::string& env_dir) const {
  const auto& c = f.config;
  std::vector<std::string> env = {
      "LAMBDA_TASK_ROOT=" + f.code_dir,
      "_HANDLER=" + c.handler,
      "AWS_REGION=" + options_.region,
      "AWS_DEFAULT_REGION=" + options_.region,
      "AWS_LAMBDA_FUNCTION_NAME=" + c.name,
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(c.memory_mb),
      "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
      "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
      "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.name,
      "AWS_LAMBDA_LOG_STREAM_NAME=" + LogStreamName(SystemClock::Get().NowEpochMs()),
      "LAMBDA_RUNTIME_DIR=/var/runtime",
      // Lambda's, with the code's directory in place of /var/task: a bootstrap that loads
      // its private shared libraries from lib/ without an rpath finds them, as on Lambda.
      "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:" +
          f.code_dir + ":" + f.code_dir + "/lib:/opt/lib",
      // Lambda's PATH first, then this machine's (its tools live elsewhere than Lambda's).
      "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin" +
          (std::getenv("PATH") ? std::string(":") + std::getenv("PATH") : std::string()),
      "TZ=:UTC",
      "LANG=en_US.UTF-8",
      "TMPDIR=" + env_dir + "/tmp",
  };
  static const char* kInherit[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN", "ASAN_OPTIONS",
                                   "UBSAN_OPTIONS",     "LSAN_OPTIONS"};
  for (const char* name : kInherit) {
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
  for (char** e = environ; e && *e; ++e) {
    if (std::string_view(*e).rfind("AWS_ENDPOINT_URL", 0) == 0) env.push_back(*e);
  }
  for (const auto& [k, v] : c.environment) {
    std::string prefix = k + "=";
    std::erase_if(env, [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    env.push_back(prefix + v);
  }
  return env;
}

void Service::Assign(std::unique_ptr<Invocation> inv) {
  Function& f = *inv->function;
  f.inflight++;
  std::shared_ptr<ExecutionEnvironment> env;
  if (inv->slow_start_ms > 0) {
    // A forced cold start: recycle one warm environment so their number stays bounded.
    for (auto* pool : {&f.idle, &f.returning}) {
      if (pool->empty()) continue;
      auto e = std::move(pool->back());
      pool->pop_back();
      if (!e->busy()) e->Kill();
      break;
    }
  }
  for (auto* pool : {&f.idle, &f.returning}) {
    while (!env && inv->slow_start_ms == 0 && !pool->empty()) {
      auto e = std::move(pool->back());
      pool->pop_back();
      if (e->usable() && !e->busy() && e->generation() == f.generation) {
        env = std::move(e);
      } else if (!e->busy()) {
        e->Kill();
      }
    }
  }
  if (!env) {
    std::string dir = fmt::format("{}/envs/{}", work_dir_, ++next_env_id_);
    mkdir((work_dir_ + "/envs").c_str(), 0755);
    mkdir(dir.c_str(), 0755);
    mkdir((dir + "/tmp").c_str(), 0700);
    ExecutionEnvironment::Hooks hooks;
    hooks.on_idle = [this](const std::shared_ptr<ExecutionEnvironment>& e) { OnIdle(e); };
    hooks.on_finished = [this](const std::shared_ptr<ExecutionEnvironment>& e,
                               std::unique_ptr<Invocation> i,
                               InvocationResult r) { OnFinished(e, std::move(i), std::move(r)); };
    hooks.on_dead = [this](const std::shared_ptr<ExecutionEnvironment>& e) { OnDead(e); };
    hooks.on_undelivered = [this](const std::shared_ptr<ExecutionEnvironment>& e,
                                  std::unique_ptr<Invocation> i) {
      // It never ran: run it elsewhere (Assign counts it again).
      std::erase(e->function()->returning, e);
      std::erase(e->function()->idle, e);
      i->function->inflight--;
      Assign(std::move(i));
    };
    env = std::make_shared<ExecutionEnvironment>(io_, inv->function, f.generation, dir,
                                                 BaseEnvironment(f, dir), std::move(hooks));
    env->set_init_delay_ms(inv->slow_start_ms);
    Status st = env->Start();
    if (!st.ok()) {
      InvocationResult r;
      r.function_error = true;
      r.payload = DumpLenient(json{
          {"errorType", "Runtime.InvalidEntrypoint"},
          {"errorMessage", fmt::format("RequestId: {} Error: {}", inv->request_id, st.message())}});
      OnFinished(nullptr, std::move(inv), std::move(r));
      return;
    }
    envs_.insert(env);
  }
  env->Assign(std::move(inv));
  if (!memory_polling_ && options_.memory_poll_ms > 0) {
    memory_polling_ = true;
    memory_timer_.expires_after(std::chrono::milliseconds(options_.memory_poll_ms));
    memory_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) PollMemory();
    });
  }
}

void Service::PollMemory() {
  std::vector<pid_t> sids;
  std::vector<std::shared_ptr<ExecutionEnvironment>> running;
  bool busy = false;  // an invocation is assigned, maybe not yet fetched by a starting runtime
  for (const auto& env : envs_) {
    if (!env->alive() || !env->busy()) continue;
    busy = true;
    if (!env->running_invocation()) continue;
    if (const int64_t kb = env->CgroupMemoryKb(); kb >= 0) {
      env->NoteRss(kb);
    } else {
      sids.push_back(env->pid());
      running.push_back(env);
    }
  }
  if (!busy) {
    memory_polling_ = false;
    return;
  }
  auto rss = SessionRssKb(sids);
  for (const auto& env : running) env->NoteRss(rss[env->pid()]);
  memory_timer_.expires_after(std::chrono::milliseconds(options_.memory_poll_ms));
  memory_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) PollMemory();
  });
}

void Service::OnIdle(const std::shared_ptr<ExecutionEnvironment>& env) {
  Function& f = *env->function();
  if (f.deleted || env->generation() != f.generation || shut_down_) {
    env->Kill();
    return;
  }
  std::erase(f.returning, env);
  for (const auto& e : f.idle) {
    if (e == env) return;
  }
  f.idle.push_back(env);
}

void Service::OnFinished(const std::shared_ptr<ExecutionEnvironment>& env,
                         std::unique_ptr<Invocation> inv, InvocationResult result) {
  Function& f = *inv->function;
  f.inflight--;
  if (env && env->usable() && !f.deleted && env->generation() == f.generation) {
    f.returning.push_back(env);
  }
  if (inv->sync) {
    if (inv->client) {
      auto res = MakeResponse(inv->client->request(), 200, std::move(result.payload));
      res.set("X-Amz-Executed-Version", "$LATEST");
      if (result.function_error) res.set("X-Amz-Function-Error", "Unhandled");
      if (inv->tail) {
        std::string_view log = result.log;
        if (log.size() > 4096) log = log.substr(log.size() - 4096);
        res.set("X-Amz-Log-Result", Base64Encode(log));
      }
      Reply(inv->client, std::move(res), inv->request_id);
    }
  } else if (result.function_error && !f.deleted && inv->attempt <= EventRetries(f)) {
    int64_t delay = options_.event_retry_delays_ms[static_cast<size_t>(inv->attempt - 1)];
    inv->attempt++;
    inv->not_before_ms = SystemClock::Get().NowEpochMs() + delay;
    inv->request_id = inv->request_id;  // Lambda keeps the request id across retries
    inv->crash_after_ms = -1;           // an injected fault hits one attempt only
    inv->hang = false;
    inv->slow_start_ms = 0;
    events_.push_back(std::move(inv));
  }
  PumpEvents();
}

void Service::OnDead(const std::shared_ptr<ExecutionEnvironment>& env) {
  Function& f = *env->function();
  std::erase(f.idle, env);
  std::erase(f.returning, env);
  // Defer the erase: we may be inside one of env's own handlers. Then its directory goes,
  // and the code directories no live environment uses any more.
  asio::post(io_, [this, env] {
    envs_.erase(env);
    std::error_code ec;
    std::filesystem::remove_all(env->dir(), ec);
    SweepCodeDirs();
  });
}

void Service::RetireCodeDir(const std::string& dir) {
  if (!dir.empty()) retired_code_dirs_.push_back(dir);
  SweepCodeDirs();
}

void Service::SweepCodeDirs() {
  std::erase_if(retired_code_dirs_, [this](const std::string& dir) {
    for (const auto& env : envs_) {
      if (env->alive() && env->code_dir() == dir) return false;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return true;
  });
}

void Service::ArmPump(int64_t at_ms) {
  if (pump_at_ms_ != 0 && pump_at_ms_ <= at_ms) return;
  pump_at_ms_ = at_ms;
  pump_timer_.expires_after(
      std::chrono::milliseconds(std::max<int64_t>(0, at_ms - SystemClock::Get().NowEpochMs())));
  pump_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    pump_at_ms_ = 0;
    PumpEvents();
  });
}

void Service::PumpEvents() {
  if (shut_down_) return;
  int64_t now = SystemClock::Get().NowEpochMs();
  int64_t next_due = 0;
  // Admission is counted as we go; dispatching happens after the scan because a dispatch
  // can finish (and requeue) synchronously.
  std::vector<std::unique_ptr<Invocation>> ready;
  for (auto it = events_.begin(); it != events_.end();) {
    Invocation& inv = **it;
    // Dropped: the function is gone, the event is too old, or the function's reserved
    // concurrency is 0 (throttled outright: the way to empty a function's queue, which
    // `parallelagram cancel` relies on).
    if (inv.function->deleted || now - inv.first_enqueued_ms > MaxEventAgeMs(*inv.function) ||
        inv.function->reserved == 0) {
      it = events_.erase(it);
      continue;
    }
    if (inv.not_before_ms > now) {
      if (next_due == 0 || inv.not_before_ms < next_due) next_due = inv.not_before_ms;
      ++it;
      continue;
    }
    std::string reason;
    Function& f = *inv.function;
    bool ok = Admit(f, &reason);
    if (!ok) {
      ++it;  // throttled: stays queued until capacity frees up
      continue;
    }
    f.inflight++;  // hold the slot while scanning; released just before Assign
    ready.push_back(std::move(*it));
    it = events_.erase(it);
  }
  if (next_due != 0) ArmPump(next_due);
  for (auto& inv : ready) {
    inv->function->inflight--;
    Assign(std::move(inv));
  }
}

}  // namespace parallelagram::local
