#include "local/execution_environment.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/json_text.h"
#include "local/process_util.h"

namespace parallelagram::local {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

// Connections one environment's Runtime API listener accepts at once (see Start).
constexpr size_t kRuntimeApiConnections = 4;
constexpr size_t kLogKeep = 256 * 1024;
constexpr int64_t kInitAllowanceMs = 10000;  // Lambda's init phase limit
constexpr const char* kPrefix = "/2018-06-01/runtime/";

int64_t NowUs() { return SystemClock::Get().NowMonoUs(); }
int64_t NowMs() { return SystemClock::Get().NowEpochMs(); }

std::string RandomHex(size_t n) {
  std::string id = NewRequestId();
  std::string hex;
  for (char c : id) {
    if (c != '-') hex.push_back(c);
  }
  while (hex.size() < n) hex += hex;
  return hex.substr(0, n);
}

HttpResponseMsg RuntimeError(const HttpRequestMsg& req, int status, const std::string& type,
                             const std::string& message) {
  json j = {{"errorMessage", message}, {"errorType", type}};
  return MakeResponse(req, status, DumpLenient(j));
}

}  // namespace

ExecutionEnvironment::ExecutionEnvironment(asio::io_context& io, std::shared_ptr<Function> function,
                                           int generation, std::string dir,
                                           std::vector<std::string> env, Hooks hooks)
    : io_(io),
      function_(std::move(function)),
      generation_(generation),
      dir_(std::move(dir)),
      env_(std::move(env)),
      hooks_(std::move(hooks)),
      pidfd_(io),
      poll_timer_(io),
      log_fd_(io),
      timer_(io),
      crash_timer_(io) {}

ExecutionEnvironment::~ExecutionEnvironment() {
  KillProcesses();
  if (runtime_) runtime_->Close();
}

Status ExecutionEnvironment::Start() {
  std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
  // A listener of its own (an ephemeral port), told only to this environment's process.
  const std::string host = "127.0.0.1";
  auto server =
      HttpServer::Listen(io_, host, 0, kSyncPayloadLimit, [weak](std::shared_ptr<HttpExchange> ex) {
        if (auto self = weak.lock()) self->OnRuntimeRequest(ex);
      });
  if (!server.ok()) return server.status();
  runtime_ = std::move(server).value();
  // A runtime needs one connection, two at most; any process of the machine can find this
  // port, so a few are all it gets. A connection without a request for longer than an
  // invocation may last (the runtime holds it while the function runs) is closed.
  HttpServer::Limits limits;
  limits.max_connections = kRuntimeApiConnections;
  limits.idle_timeout_ms = (function_->config.timeout_s + 60) * int64_t{1000};
  runtime_->set_limits(limits);
  env_.push_back("AWS_LAMBDA_RUNTIME_API=" + host + ":" + std::to_string(runtime_->port()));
  code_dir_ = function_->code_dir;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  SpawnSpec spec;
  spec.argv = {code_dir_ + "/bootstrap"};
  spec.env = env_;
  spec.cwd = code_dir_;
  spec.output_fd = fds[1];
  spawn_us_ = NowUs();
  auto pid = SpawnInNewSession(spec);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  pid_ = *pid;
  alive_ = true;
  // Before the runtime can have an invocation (it asks this thread for one), so before it
  // starts any task: the tasks are born in the cgroup.
  cgroup_ = EnvCgroup::Make("env-" + std::to_string(pid_) + "-" + std::to_string(spawn_us_));
  if (cgroup_ && !cgroup_->Add(pid_)) cgroup_.reset();
  log_fd_.assign(fds[0]);
  log_fd_.native_non_blocking(true);
  ReadLog();
  WatchExit();
  return Status::Ok();
}

void ExecutionEnvironment::WatchExit() {
  int pfd = OpenPidfd(pid_);
  if (pfd >= 0) {
    pidfd_.assign(pfd);
    pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](boost::system::error_code ec) {
                        if (!ec) self->OnExit();
                      });
    return;
  }
  poll_timer_.expires_after(std::chrono::milliseconds(20));
  poll_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;
    int st;
    if (waitpid(self->pid_, &st, WNOHANG) == self->pid_) {
      self->wait_status_ = st;
      self->alive_ = false;
      self->OnExit();
    } else {
      self->WatchExit();
    }
  });
}

void ExecutionEnvironment::ReadLog() {
  log_buf_.resize(16384);
  log_fd_.async_read_some(asio::buffer(log_buf_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            if (n > 0) self->AppendLog(self->log_buf_.substr(0, n));
                            if (!ec) self->ReadLog();
                          });
}

void ExecutionEnvironment::DrainLog() {
  if (!log_fd_.is_open()) return;
  char buf[16384];
  while (true) {
    ssize_t n = read(log_fd_.native_handle(), buf, sizeof buf);
    if (n <= 0) break;
    AppendLog(std::string(buf, static_cast<size_t>(n)));
  }
}

void ExecutionEnvironment::AppendLog(const std::string& s) {
  log_ += s;
  if (log_.size() > 2 * kLogKeep) {
    size_t drop = log_.size() - kLogKeep;
    log_.erase(0, drop);
    log_base_ += drop;
  }
}

void ExecutionEnvironment::OnRuntimeRequest(const std::shared_ptr<HttpExchange>& ex) {
  const auto& req = ex->request();
  std::string target(req.target());
  size_t q = target.find('?');
  if (q != std::string::npos) target.resize(q);
  if (target.rfind(kPrefix, 0) != 0) {
    ex->Reply(RuntimeError(req, 404, "InvalidRequest", "unknown Runtime API path " + target));
    return;
  }
  std::string rest = target.substr(std::strlen(kPrefix));
  if (req.method() == http::verb::get && rest == "invocation/next") {
    if (!initialized_ && init_delay_ms_ > 0) {
      auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(init_delay_ms_));
      init_delay_ms_ = 0;
      std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
      t->async_wait([weak, ex, t](boost::system::error_code ec) {
        if (ec) return;
        if (auto self = weak.lock(); self && self->alive_) self->OnRuntimeRequest(ex);
      });
      return;
    }
    if (!initialized_) {
      initialized_ = true;
      init_us_ = NowUs() - spawn_us_;
    }
    if (current_ && !delivered_) {
      Deliver(ex);
      return;
    }
    if (parked_next_ && !parked_next_->PeerClosed()) {
      // One runtime waits in one GET /next: a second is someone else's (the address leaked).
      // (A runtime whose client gave up on the first, closing it, may ask again.)
      ex->Reply(RuntimeError(req, 403, "Runtime.DuplicateNext",
                             "a GET /next is already waiting in this environment"));
      return;
    }
    parked_next_ = ex;
    if (!current_ && hooks_.on_idle) hooks_.on_idle(shared_from_this());
    return;
  }
  if (req.method() == http::verb::post && rest == "init/error") {
    ex->Reply(MakeResponse(req, 202, R"({"status":"OK"})"));
    std::string body = req.body();
    json j = json::parse(body, nullptr, false);
    if (!j.is_object()) {
      j = {{"errorType", "Runtime.InitError"}, {"errorMessage", body}};
    }
    AppendLog(fmt::format(
        "INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError Type: {}\n",
        (NowUs() - spawn_us_) / 1000.0, j.value("errorType", std::string("Runtime.InitError"))));
    kill_reason_ = KillReason::kInitError;
    if (current_) Finish(true, DumpLenient(j));
    Kill();
    return;
  }
  const std::string kInv = "invocation/";
  if (req.method() == http::verb::post && rest.rfind(kInv, 0) == 0) {
    std::string tail = rest.substr(kInv.size());
    size_t slash = tail.find('/');
    std::string id = tail.substr(0, slash);
    std::string what = slash == std::string::npos ? "" : tail.substr(slash + 1);
    if (what != "response" && what != "error") {
      ex->Reply(RuntimeError(req, 404, "InvalidRequest", "unknown Runtime API path " + target));
      return;
    }
    if (!current_ || !delivered_ || current_->request_id != id) {
      ex->Reply(RuntimeError(req, 400, "InvalidRequestID", "Invalid request ID"));
      return;
    }
    if (current_->hang) {  // injected: the answer is lost; the timeout ends the invocation
      ex->Reply(MakeResponse(req, 202, R"({"status":"OK"})"));
      return;
    }
    if (current_->crash_after_ms >= 0) {  // injected: the worker dies before it can answer
      Kill();
      return;
    }
    if (what == "response") {
      if (ex->body_too_large() || req.body().size() > kSyncPayloadLimit) {
        std::string msg = fmt::format("Exceeded maximum allowed payload size ({} bytes).",
                                      kResponseLimitReported);
        ex->Reply(RuntimeError(req, 413, "RequestEntityTooLarge", msg));
        json err = {
            {"errorMessage",
             fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                         kResponseLimitReported)},
            {"errorType", "Function.ResponseSizeTooLarge"}};
        Finish(true, DumpLenient(err));
        return;
      }
      ex->Reply(MakeResponse(req, 202, R"({"status":"OK"})"));
      Finish(false, req.body());
      return;
    }
    // error
    ex->Reply(MakeResponse(req, 202, R"({"status":"OK"})"));
    std::string body = ex->body_too_large() ? std::string() : req.body();
    json j = json::parse(body, nullptr, false);
    if (!j.is_object()) {
      std::string type(req["Lambda-Runtime-Function-Error-Type"]);
      j = {{"errorMessage", body}, {"errorType", type.empty() ? "Unhandled" : type}};
    }
    Finish(true, DumpLenient(j));
    return;
  }
  ex->Reply(RuntimeError(req, 404, "InvalidRequest", "unknown Runtime API path " + target));
}

void ExecutionEnvironment::Assign(std::unique_ptr<Invocation> invocation) {
  current_ = std::move(invocation);
  delivered_ = false;
  log_mark_ = log_base_ + log_.size();
  start_us_ = NowUs();
  if (parked_next_) {
    Deliver(std::move(parked_next_));
  } else {
    // Starting, or still returning from its previous invocation.
    ArmTimer((initialized_ ? 0 : kInitAllowanceMs) + function_->config.timeout_s * 1000LL);
  }
}

void ExecutionEnvironment::Deliver(std::shared_ptr<HttpExchange> next) {
  parked_next_.reset();
  delivered_ = true;
  start_us_ = NowUs();
  const auto& cfg = function_->config;
  int64_t deadline = NowMs() + cfg.timeout_s * 1000LL;
  AppendLog(fmt::format("START RequestId: {} Version: $LATEST\n", current_->request_id));
  auto res = MakeResponse(next->request(), 200, current_->payload);
  res.set("Lambda-Runtime-Aws-Request-Id", current_->request_id);
  res.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline));
  res.set("Lambda-Runtime-Invoked-Function-Arn",
          current_->invoked_arn.empty() ? function_->arn : current_->invoked_arn);
  if (!current_->client_context.empty()) {
    res.set("Lambda-Runtime-Client-Context", current_->client_context);
  }
  res.set("Lambda-Runtime-Trace-Id", fmt::format("Root=1-{:08x}-{};Parent={};Sampled=0",
                                                 NowMs() / 1000, RandomHex(24), RandomHex(16)));
  next->Reply(std::move(res));
  ArmTimer(cfg.timeout_s * 1000LL);
  if (current_->crash_after_ms >= 0) {
    crash_timer_.expires_after(std::chrono::milliseconds(current_->crash_after_ms));
    std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
    std::string id = current_->request_id;
    crash_timer_.async_wait([weak, id](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (self && self->current_ && self->delivered_ && self->current_->request_id == id) {
        self->Kill();
      }
    });
  }
}

void ExecutionEnvironment::ArmTimer(int64_t ms) {
  timer_.expires_after(std::chrono::milliseconds(ms));
  std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
  timer_.async_wait([weak](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->OnTimeout();
  });
}

void ExecutionEnvironment::OnTimeout() {
  if (!current_) return;
  double secs = (NowUs() - start_us_) / 1e6;
  std::string line = fmt::format("Task timed out after {:.2f} seconds", secs);
  AppendLog(fmt::format("{} {} {}\n", IsoTimestampMs(NowMs()), current_->request_id, line));
  kill_reason_ = KillReason::kTimeout;
  json err = {{"errorType", "Sandbox.Timedout"},
              {"errorMessage", fmt::format("RequestId: {} Error: {}", current_->request_id, line)}};
  Finish(true, DumpLenient(err));
  Kill();
}

void ExecutionEnvironment::NoteRss(int64_t kb) {
  if (kb > max_rss_kb_) max_rss_kb_ = kb;
  if (alive_ && current_ && delivered_ && kb > function_->config.memory_mb * 1024LL &&
      kill_reason_ == KillReason::kNone) {
    kill_reason_ = KillReason::kMemory;
    KillProcesses();
  }
}

void ExecutionEnvironment::Finish(bool function_error, std::string payload) {
  if (!current_) return;
  timer_.cancel();
  crash_timer_.cancel();
  DrainLog();
  const auto& cfg = function_->config;
  double ms = (NowUs() - start_us_) / 1000.0;
  AppendLog(fmt::format("END RequestId: {}\n", current_->request_id));
  // As Lambda bills a custom runtime: the duration rounded up to the millisecond, plus the
  // init phase on a cold start; memory is the environment's peak so far, sampled once more
  // now (the 100 ms sampling misses short invocations).
  std::string init;
  double billed = ms;
  if (init_us_ >= 0) {
    init = fmt::format("Init Duration: {:.2f} ms\t", init_us_ / 1000.0);
    billed += init_us_ / 1000.0;
    init_us_ = -1;
  }
  if (alive_) {
    const int64_t kb = cgroup_ ? cgroup_->RssKb() : SessionRssKb({pid_})[pid_];
    max_rss_kb_ = std::max(max_rss_kb_, kb);
  }
  AppendLog(fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
      "Max Memory Used: {} MB\t{}\n",
      current_->request_id, ms, static_cast<int64_t>(std::ceil(billed)), cfg.memory_mb,
      (max_rss_kb_ + 1023) / 1024, init));
  InvocationResult r;
  r.function_error = function_error;
  r.payload = std::move(payload);
  // What is kept of this invocation's log: all of it, or (a log longer than what is kept) its
  // last kLogKeep bytes, so that X-Amz-Log-Type: Tail still gets the last 4 KB.
  r.log = log_mark_ >= log_base_ ? log_.substr(log_mark_ - log_base_) : log_;
  std::unique_ptr<Invocation> inv = std::move(current_);
  delivered_ = false;
  if (hooks_.on_finished) hooks_.on_finished(shared_from_this(), std::move(inv), std::move(r));
}

void ExecutionEnvironment::Kill() {
  if (kill_reason_ == KillReason::kNone) kill_reason_ = KillReason::kRequested;
  KillProcesses();
}

void ExecutionEnvironment::KillProcesses() {
  if (alive_) KillSession(pid_, SIGKILL);
  if (cgroup_) cgroup_->KillAll();
}

void ExecutionEnvironment::Reap() {
  if (!alive_) return;
  int st;
  waitpid(pid_, &st, 0);
  alive_ = false;
  dead_reported_ = true;
  hooks_ = Hooks{};
}

std::string ExecutionEnvironment::ExitErrorMessage() const {
  if (WIFEXITED(wait_status_)) {
    return fmt::format("exit status {}", WEXITSTATUS(wait_status_));
  }
  if (WIFSIGNALED(wait_status_)) {
    std::string name = strsignal(WTERMSIG(wait_status_));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return "signal: " + name;
  }
  return "unknown status";
}

void ExecutionEnvironment::OnExit() {
  KillProcesses();  // before reaping: the runtime's orphans (tasks)
  if (pidfd_.is_open()) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) != pid_) {
      // Not reapable yet (should not happen once the pidfd is readable): look again soon.
      poll_timer_.expires_after(std::chrono::milliseconds(5));
      poll_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->OnExit();
      });
      return;
    }
    wait_status_ = st;
    boost::system::error_code ec;
    pidfd_.close(ec);
  }
  alive_ = false;
  DrainLog();
  if (current_ && !delivered_ && initialized_ && hooks_.on_undelivered) {
    std::unique_ptr<Invocation> inv = std::move(current_);
    timer_.cancel();
    hooks_.on_undelivered(shared_from_this(), std::move(inv));
  }
  if (current_) {
    std::string why = ExitErrorMessage();
    std::string type =
        kill_reason_ == KillReason::kMemory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
    std::string msg = fmt::format("RequestId: {} Error: Runtime exited with error: {}",
                                  current_->request_id, why);
    AppendLog(msg + "\n" + type + "\n");
    json err = {{"errorType", type}, {"errorMessage", msg}};
    Finish(true, DumpLenient(err));
  }
  parked_next_.reset();
  if (runtime_) runtime_->Close();
  boost::system::error_code ec;
  log_fd_.close(ec);
  timer_.cancel();
  if (!dead_reported_) {
    dead_reported_ = true;
    if (hooks_.on_dead) hooks_.on_dead(shared_from_this());
  }
}

}  // namespace parallelagram::local
