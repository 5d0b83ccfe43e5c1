#include "worker/worker_loop.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "worker/noop_task.h"
#include "worker/process_task.h"

namespace parallelagram {
namespace {

int64_t WorkerMonoUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The init phase is measured from here: as early as this process can see (static
// initialisation, before main).
const int64_t kWorkerStartUs = WorkerMonoUs();

// This process's (execution environment's) id: 16 random hex digits, made once. Reports
// draw one timeline row per environment with it.
std::string MakeEnvId() {
  uint64_t x = 0;
  if (std::FILE* f = std::fopen("/dev/urandom", "rb")) {
    if (std::fread(&x, sizeof x, 1, f) != 1) x = 0;
    std::fclose(f);
  }
  if (x == 0) {
    x = static_cast<uint64_t>(WorkerMonoUs()) * 0x9E3779B97F4A7C15ull ^
        static_cast<uint64_t>(::getpid());
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

}  // namespace

InvocationContext EnvironmentContext() {
  InvocationContext env;
  if (const char* m = ::getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")) env.memory_limit_mb = ::atoll(m);
  const char* t = ::getenv("TMPDIR");
  env.tmp_dir = (t && *t) ? t : "/tmp";
  static const std::string env_id = MakeEnvId();
  env.env_id = env_id;
  while (env.tmp_dir.size() > 1 && env.tmp_dir.back() == '/') env.tmp_dir.pop_back();
  return env;
}

int ServeInvocations(RuntimeApi& api, TaskRegistry& registry, Blobs& blobs,
                     const InvocationContext& env, int64_t max_invocations) {
  int64_t index = 0;
  // The init phase: the process's start to its first `next` (Lambda bills it for custom
  // runtimes).
  const int64_t init_ms = (WorkerMonoUs() - kWorkerStartUs + 999) / 1000;
  while (max_invocations < 0 || index < max_invocations) {
    Result<NextInvocation> next = api.Next();
    const int64_t received_us = WorkerMonoUs();
    if (!next.ok()) {
      std::fprintf(stderr, "parallelagram worker: stopping: %s\n", next.status().message().c_str());
      return 1;
    }
    if (next->request_id.empty()) {
      std::fprintf(stderr, "parallelagram worker: invocation without %s; skipped\n",
                   kHeaderRequestId);
      continue;
    }
    InvocationContext ctx = env;
    ctx.request_id = next->request_id;
    ctx.deadline_epoch_ms = next->deadline_epoch_ms;
    ctx.invoked_function_arn = next->invoked_function_arn;
    ctx.trace_id = next->trace_id;
    ctx.invocation_index = ++index;
    ctx.cold = index == 1;
    ctx.received_mono_us = received_us;
    ctx.init_ms = ctx.cold ? init_ms : 0;
    if (!ctx.trace_id.empty()) {
      ::setenv(kTraceEnv, ctx.trace_id.c_str(), 1);
    } else {
      ::unsetenv(kTraceEnv);
    }
    Reply reply = RunTaskEvent(registry, blobs, next->body, ctx);
    Status posted = reply.is_error ? api.PostError(ctx.request_id, reply.error_type, reply.body)
                                   : api.PostResponse(ctx.request_id, reply.body);
    if (reply.is_error) {
      std::fprintf(stderr, "parallelagram worker: request %s: %s: %s\n", ctx.request_id.c_str(),
                   reply.error_type.c_str(), reply.body.c_str());
    }
    if (!posted.ok()) {
      std::fprintf(stderr, "parallelagram worker: request %s: cannot post the reply: %s\n",
                   ctx.request_id.c_str(), posted.message().c_str());
    }
  }
  return 0;
}

int RunWorker() {
  const char* api_addr = ::getenv(kRuntimeApiEnv);
  if (!api_addr || !*api_addr) {
    std::fprintf(stderr,
                 "parallelagram worker: %s is not set; this is a Lambda bootstrap, run it under "
                 "Lambda or `parallelagram local-lambda`\n",
                 kRuntimeApiEnv);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  TaskRegistry& registry = GlobalTaskRegistry();
  if (!registry.Find("process")) registry.Register("process", MakeDefaultProcessHandler());
  if (!registry.Find("noop")) registry.Register("noop", MakeNoopHandler());
  std::unique_ptr<Blobs> blobs = Blobs::WithDefaults();
  BeastRuntimeApi api(api_addr);
  InvocationContext env = EnvironmentContext();
  Status init = registry.InitAll(env);
  if (!init.ok()) {
    std::fprintf(stderr, "parallelagram worker: cannot start: %s\n", init.message().c_str());
    Status posted = api.PostInitError(kErrInit, init.message());
    if (!posted.ok()) {
      std::fprintf(stderr, "parallelagram worker: cannot report the init error: %s\n",
                   posted.message().c_str());
    }
    return 1;
  }
  return ServeInvocations(api, registry, *blobs, env);
}

}  // namespace parallelagram
