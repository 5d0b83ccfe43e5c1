// Executor (parallelagram/executor.h): one driver::Job fed by a SubmitQueue, run on its own
// thread with its own IoLoop; each submitted call's CallState is completed from the job's
// JobObserver callbacks.
#include "parallelagram/executor.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "api/call_state.h"
#include "api/function_handler.h"
#include "api/worker_identity.h"
#include "aws/aws_config.h"
#include "common/clock.h"
#include "driver/aws_backend.h"
#include "driver/command_template.h"
#include "driver/io_loop_driver.h"
#include "driver/job.h"
#include "driver/local_backend.h"
#include "driver/staging.h"
#include "driver/state_dir.h"
#include "http/io_loop.h"

namespace parallelagram {

namespace {

constexpr size_t kStderrTail = 4096;

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

int DefaultJobs() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace

struct Executor::Impl : driver::JobObserver {
  explicit Impl(ExecutorOptions o) : opts(std::move(o)) {
    job_id = opts.job_id.empty() ? driver::NewJobId() : opts.job_id;
  }

  ExecutorOptions opts;
  std::string job_id;

  std::mutex mu;  // guards what follows, down to `pending`
  bool started = false, closed = false, ended = false;
  std::string end_reason;                // why calls submitted after the end did not run
  driver::SubmitQueue* queue = nullptr;  // owned by `job`
  std::unordered_map<int64_t, std::shared_ptr<detail::CallState>> pending;

  IoLoop loop;
  driver::IoLoopDriver loop_driver{loop};
  driver::StopRequest stop;
  std::unique_ptr<driver::Job> job;
  std::thread thread;
  std::mutex join_mu;
  int64_t last_progress_ms = -1;

  void StartLocked();
  std::shared_ptr<detail::CallState> Submit(driver::TaskSpec spec, std::string what);
  void Shutdown();
  void Say(const std::string& line) const {
    if (opts.progress) std::fprintf(stderr, "parallelagram: %s\n", line.c_str());
  }

  // driver::JobObserver (on the job's thread)
  void TaskFinished(std::shared_ptr<const driver::TaskRecord> rec,
                    const driver::FinishedTask& ft) override;
  void SetupFailed(const Status& s) override {
    std::lock_guard<std::mutex> l(mu);
    end_reason = "the job could not start: " + s.message();
  }
  void Notice(const std::string& line) override { Say(line); }
  void Problem(const Status& s) override { Say("warning: " + s.message()); }
  void Stopping(const std::string& what, const char*) override { Say(what); }
  void Halting(const std::string& why) override { Say("halting: " + why); }
  void Progress(const driver::ProgressCounts& c, int64_t elapsed_ms, bool final) override {
    if (!opts.progress || (!final && last_progress_ms >= 0 && elapsed_ms - last_progress_ms < 1000))
      return;
    last_progress_ms = elapsed_ms;
    std::fprintf(stderr, "parallelagram: job %s: %s\n", job_id.c_str(),
                 driver::FormatProgress(c, elapsed_ms).c_str());
  }
  void JobEnded(const driver::RunTotals& t, int exit_status) override;
};

void Executor::Impl::StartLocked() {
  started = true;
  // Like the CLI: a peer that closes a connection must not kill the program.
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  driver::RunOptions spec;
  spec.jobs = opts.max_in_flight;
  spec.retries = std::max(1, opts.attempts);
  spec.timeout_s = opts.timeout_s;
  spec.memory_mb = opts.memory_mb;
  if (!opts.speculate) spec.speculate.mode = driver::SpeculateOptions::Mode::kOff;
  spec.quiet = !opts.progress;
  spec.job_id = job_id;
  spec.state_dir = opts.state_dir;
  spec.backend = opts.backend;
  spec.function_name = opts.function_name;
  spec.bucket = opts.bucket;
  spec.config = opts.deployment_config;
  auto q = std::make_unique<driver::SubmitQueue>();
  queue = q.get();
  driver::JobContext ctx;
  ctx.loop = &loop_driver;
  ctx.clock = &SystemClock::Get();
  ctx.observer = this;
  ctx.stop = &stop;
  ctx.default_jobs = DefaultJobs();
  ctx.argv_line = WorkerExecutable() + " (C++ API)";
  const bool aws = opts.backend == "aws";
  ctx.backend = [this,
                 aws](const driver::BackendConfig& c) -> Result<std::unique_ptr<driver::Backend>> {
    driver::BackendConfig cfg = c;
    if (aws) {
      PG_ASSIGN_OR_RETURN(auto b,
                          driver::StartAwsBackend(loop, cfg, aws::Environment::FromProcess()));
      PG_RETURN_IF_ERROR(CheckDeployedBuild(*b));
      return b;
    }
    cfg.worker = WorkerExecutable();
    return driver::StartLocalBackend(loop, cfg);
  };
  job = std::make_unique<driver::Job>(std::move(spec), std::move(q), ctx);
  thread = std::thread([this] { job->Run(); });
}

std::shared_ptr<detail::CallState> Executor::Impl::Submit(driver::TaskSpec spec, std::string what) {
  auto st = std::make_shared<detail::CallState>(std::move(what), spec.kind == "process");
  std::lock_guard<std::mutex> l(mu);
  if (closed || ended) {
    TaskError::Details d;
    d.ran = false;
    d.message = !end_reason.empty() ? end_reason
                                    : std::string("the executor was shut down before the call");
    st->Fail(std::move(d));
    return st;
  }
  if (!started) StartLocked();
  auto n = queue->SubmitSpec(std::move(spec), [&](int64_t seq) {
    st->SetTaskNumber(seq);
    pending.emplace(seq, st);
  });
  if (!n.ok()) {
    TaskError::Details d;
    d.ran = false;
    d.message = n.status().message();
    st->Fail(std::move(d));
  }
  return st;
}

void Executor::Impl::TaskFinished(std::shared_ptr<const driver::TaskRecord> rec,
                                  const driver::FinishedTask& ft) {
  std::shared_ptr<detail::CallState> st;
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = pending.find(rec->seq);
    if (it == pending.end()) return;
    st = std::move(it->second);
    pending.erase(it);
  }
  const TaskResult& r = rec->result;
  if (st->is_process()) {
    if (r.exit_code && (r.outcome == Outcome::kSucceeded || r.outcome == Outcome::kFailed)) {
      ProcessResult p;
      p.exit_code = *r.exit_code;
      p.stdout_data = r.stdout_data;
      p.stderr_data = r.stderr_data;
      for (const auto& [path, dest] : ft.returned) p.returned.push_back(dest);
      st->SucceedProcess(std::move(p));
      return;
    }
  } else if (r.outcome == Outcome::kSucceeded) {
    st->Succeed(r.stdout_data);
    return;
  }
  TaskError::Details d;
  d.outcome = r.outcome;
  d.error_type = r.error_type;
  d.message = r.error;
  if (d.message.empty() && r.exit_code) d.message = "exit status " + std::to_string(*r.exit_code);
  d.attempts = rec->attempt;
  d.exit_code = r.exit_code;
  d.stderr_tail = Tail(r.stderr_data, kStderrTail);
  if (!r.log_tail.empty()) d.stderr_tail += (d.stderr_tail.empty() ? "" : "\n") + r.log_tail;
  d.task_number = rec->seq;
  st->Fail(std::move(d));
}

void Executor::Impl::JobEnded(const driver::RunTotals& t, int /*exit_status*/) {
  std::unordered_map<int64_t, std::shared_ptr<detail::CallState>> left;
  std::string why;
  {
    std::lock_guard<std::mutex> l(mu);
    ended = true;
    if (end_reason.empty()) {
      end_reason = t.interrupt == driver::Interruption::kCancelled ? "the executor was cancelled"
                   : t.halted                                      ? "the job halted"
                              : "the job ended before the call ran";
    }
    why = end_reason;
    left.swap(pending);
  }
  for (auto& [seq, st] : left) {
    TaskError::Details d;
    d.ran = false;
    d.message = why;
    st->Fail(std::move(d));
  }
}

void Executor::Impl::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu);
    closed = true;
    if (queue) queue->Close();
  }
  std::lock_guard<std::mutex> jl(join_mu);
  if (thread.joinable()) thread.join();
}

Executor::Executor(ExecutorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  // A program started as a worker must have become one in ServeIfWorker; running its main()
  // as a driver there would fan out again from every environment.
  if (const char* rt = std::getenv("AWS_LAMBDA_RUNTIME_API");
      rt && *rt && !std::getenv(api::kServingEnv)) {
    std::fprintf(stderr,
                 "parallelagram: this program runs as a Lambda worker, but main() did not call "
                 "parallelagram::ServeIfWorker(argc, argv) before creating an Executor\n");
    std::_Exit(2);
  }
  if (impl_->opts.backend != "local" && impl_->opts.backend != "aws") {
    throw std::invalid_argument("parallelagram: ExecutorOptions::backend is '" +
                                impl_->opts.backend + "': use \"local\" or \"aws\"");
  }
}

Executor::~Executor() { Shutdown(); }

std::shared_ptr<detail::CallState> Executor::Submit(detail::AnyFunction f, std::string args,
                                                    const CallOptions& o) {
  const detail::RegisteredFunction* rf = detail::FindFunction(f);
  if (!rf) {
    throw std::invalid_argument(
        "parallelagram: this function is not registered: add PARALLELAGRAM_FUNCTION(name) beside "
        "its definition, in the program that calls it");
  }
  driver::TaskSpec spec;
  spec.kind = "function";
  spec.function = rf->name;
  spec.stdin_data = std::move(args);
  spec.timeout_ms = static_cast<int64_t>(o.timeout_s * 1000);
  spec.describe = rf->name + "(...)";
  return impl_->Submit(std::move(spec), rf->name);
}

Future<ProcessResult> Executor::Run(std::vector<std::string> argv, ProcessOptions options) {
  if (argv.empty()) throw std::invalid_argument("parallelagram: Executor::Run needs a program");
  // As run's --transferfile / --return: relative paths, found at the same place in the task.
  for (const auto* paths : {&options.transfer, &options.returns}) {
    for (const auto& path : *paths) {
      const char* what =
          paths == &options.transfer ? "ProcessOptions::transfer" : "ProcessOptions::returns";
      auto rel = driver::NormaliseRelative(path, what);
      if (!rel.ok()) throw std::invalid_argument("parallelagram: " + rel.status().message());
      if (paths == &options.transfer && ::access(path.c_str(), R_OK) != 0) {
        throw std::invalid_argument("parallelagram: the file to transfer '" + path +
                                    "' is not readable");
      }
    }
  }
  driver::TaskSpec spec;
  spec.kind = "process";
  for (const auto& w : argv)
    spec.describe += (spec.describe.empty() ? "" : " ") + driver::ShellQuote(w);
  const std::string what = argv[0];
  spec.argv = std::move(argv);
  spec.stdin_data = std::move(options.stdin_data);
  spec.env = std::move(options.env);
  spec.transfer = std::move(options.transfer);
  spec.returns = std::move(options.returns);
  spec.timeout_ms = static_cast<int64_t>(options.timeout_s * 1000);
  auto st = impl_->Submit(std::move(spec), what);
  return Future<ProcessResult>(std::move(st));
}

void Executor::Cancel() {
  impl_->stop.Abandon(driver::Interruption::kCancelled);
  Shutdown();
}

void Executor::Shutdown() { impl_->Shutdown(); }

const std::string& Executor::job_id() const { return impl_->job_id; }

const char* LibraryVersion() { return PG_VERSION; }

}  // namespace parallelagram
