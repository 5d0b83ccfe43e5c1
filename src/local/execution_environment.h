// ExecutionEnvironment: one execution environment of the local Lambda service: a `bootstrap`
// process in its own session, the Runtime API listener it talks to (its own ephemeral
// loopback port, AWS_LAMBDA_RUNTIME_API), its log, and the invocation it is running.
//
// Life: Start() spawns the process. The runtime's GET /next parks until the service
// Assign()s an invocation; the invocation ends with the runtime's response or error, a
// timeout (the session is killed), memory over the limit (killed), or the process exiting
// (Runtime.ExitError). Each ending calls hooks.on_finished exactly once. Injected faults
// (Invocation::crash_after_ms, hang; set_init_delay_ms) act here. When the process
// is gone hooks.on_dead is called once; the object can then be dropped.
//
// Thread-safety: none; service thread only. Ownership: held by shared_ptr by the service;
// async operations hold a weak or shared reference.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "local/env_cgroup.h"
#include "local/http_server.h"
#include "local/lambda_types.h"

namespace parallelagram::local {

class ExecutionEnvironment : public std::enable_shared_from_this<ExecutionEnvironment> {
 public:
  struct Hooks {
    // The runtime waits in GET /next with nothing to do (after start or after a response).
    std::function<void(const std::shared_ptr<ExecutionEnvironment>&)> on_idle;
    // The current invocation ended (success or any error).
    std::function<void(const std::shared_ptr<ExecutionEnvironment>&, std::unique_ptr<Invocation>,
                       InvocationResult)>
        on_finished;
    // The process exited after its runtime had taken invocations (it reached GET /next) but
    // before this one was delivered (e.g. it exited right after posting its last response):
    // the invocation never ran here and goes back to the service, to run elsewhere.
    std::function<void(const std::shared_ptr<ExecutionEnvironment>&, std::unique_ptr<Invocation>)>
        on_undelivered;
    // The process has exited and been reaped; no invocation is pending here any more.
    std::function<void(const std::shared_ptr<ExecutionEnvironment>&)> on_dead;
  };

  // `env` is the process environment minus AWS_LAMBDA_RUNTIME_API (added by Start(): a
  // listener of its own on an ephemeral loopback port, told only to this environment's
  // process). While a GET /next is parked, another one is refused (403): a process that
  // learned the address cannot take the runtime's invocations from under it.
  ExecutionEnvironment(boost::asio::io_context& io, std::shared_ptr<Function> function,
                       int generation, std::string dir, std::vector<std::string> env, Hooks hooks);
  ~ExecutionEnvironment();

  // Opens the Runtime API listener and spawns `bootstrap`. Errors: IoError.
  Status Start();
  // Injected slow start: the runtime's first GET /next is held this long (before Start()).
  void set_init_delay_ms(int64_t ms) { init_delay_ms_ = ms; }
  // Hands an invocation to this environment; it must not have one already.
  void Assign(std::unique_ptr<Invocation> invocation);
  // Kills the process (the current invocation, if any, ends as Runtime.ExitError unless a
  // more specific reason was set). Idempotent.
  void Kill();
  // Shutdown of many: reaps the process (blocking), reporting nothing; the caller has
  // already SIGKILLed its session (KillSessions over every environment at once).
  void Reap();
  // Memory sample for the session (KiB); kills it when over the function's MemorySize.
  void NoteRss(int64_t kb);
  // Its processes' memory (KiB) when it has a cgroup (EnvCgroup), -1 when tracked by its
  // session only (then the caller samples the session: SessionRssKb).
  int64_t CgroupMemoryKb() const { return cgroup_ ? cgroup_->RssKb() : -1; }

  bool busy() const { return current_ != nullptr; }
  bool alive() const { return alive_; }
  // Alive and not being killed: may take another invocation.
  bool usable() const { return alive_ && kill_reason_ == KillReason::kNone; }
  bool running_invocation() const { return current_ != nullptr && delivered_; }
  int generation() const { return generation_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& code_dir() const { return code_dir_; }  // set by Start()
  const std::shared_ptr<Function>& function() const { return function_; }

 private:
  void OnRuntimeRequest(const std::shared_ptr<HttpExchange>& ex);
  void Deliver(std::shared_ptr<HttpExchange> next);
  void Finish(bool function_error, std::string payload);
  void ArmTimer(int64_t ms);
  void OnTimeout();
  void ReadLog();
  void DrainLog();
  void AppendLog(const std::string& s);
  void WatchExit();
  void OnExit();
  // SIGKILL to its session and, with a cgroup, to every process that left the session.
  void KillProcesses();
  std::string ExitErrorMessage() const;

  boost::asio::io_context& io_;
  std::shared_ptr<Function> function_;
  int generation_;
  std::string dir_;
  std::string code_dir_;
  std::vector<std::string> env_;
  Hooks hooks_;

  std::shared_ptr<HttpServer> runtime_;
  pid_t pid_ = -1;
  std::unique_ptr<EnvCgroup> cgroup_;  // its processes, where cgroups are available
  bool alive_ = false;
  bool dead_reported_ = false;
  int wait_status_ = 0;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::steady_timer poll_timer_;  // when there is no pidfd
  boost::asio::posix::stream_descriptor log_fd_;
  std::string log_buf_;
  std::string log_;
  uint64_t log_base_ = 0;  // absolute offset of log_[0]
  uint64_t log_mark_ = 0;  // absolute offset where the current invocation's log starts

  std::shared_ptr<HttpExchange> parked_next_;
  bool initialized_ = false;  // the runtime reached its first GET /next
  int64_t spawn_us_ = 0;
  int64_t init_us_ = -1;  // reported once, in the first invocation's REPORT
  std::unique_ptr<Invocation> current_;
  bool delivered_ = false;
  int64_t start_us_ = 0;
  int64_t max_rss_kb_ = 0;
  enum class KillReason {
    kNone,
    kTimeout,
    kMemory,
    kRequested,
    kInitError
  } kill_reason_ = KillReason::kNone;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer crash_timer_;  // injected crash
  int64_t init_delay_ms_ = 0;
};

}  // namespace parallelagram::local
