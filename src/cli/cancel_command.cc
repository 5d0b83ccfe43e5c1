// parallelagram cancel JOB: stop a running job (its driver, and on AWS the async events still
// queued at Lambda).
//
// 1. The driver: driver::StopJob (job_control.h): SIGTERM to the live driver, which makes
//    RunJob stop dispatching, abandon running tasks and write status "cancelled" (the local
//    backend's environments die with it); SIGKILL after --wait seconds, and job.json marked.
// 2. On AWS, async mode: events already queued at Lambda keep running after the driver is
//    gone (for up to six hours). Setting the function's reserved concurrency to 0 throttles
//    them so that Lambda drops them; after --drain-seconds the previous setting is restored
//    (PutFunctionConcurrency with the old value, or DeleteFunctionConcurrency when there was
//    none). Sync-mode invocations have no queue: running ones end by themselves.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "aws/aws_config.h"
#include "aws/aws_session.h"
#include "aws/lambda_client.h"
#include "cli/commands.h"
#include "cli/parse_args.h"
#include "common/json_text.h"
#include "deploy/deployment_store.h"
#include "driver/job_control.h"
#include "driver/state_dir.h"

namespace parallelagram::cli {
namespace {

using json = nlohmann::json;

int Fail(const std::string& line) {
  std::fprintf(stderr, "parallelagram cancel: %s\n", line.c_str());
  return 1;
}

// Reserved concurrency to 0 for `drain_ms`, then back. Returns the process exit status.
int DrainQueue(const json& info, int64_t drain_ms) {
  const std::string function = info.value("function", std::string());
  if (function.empty()) {
    return Fail(
        "job.json does not name the Lambda function (a job from an older version): set its "
        "reserved concurrency to 0 and back yourself (aws lambda put-function-concurrency)");
  }
  aws::Environment env = aws::Environment::FromProcess();
  if (env.Get("AWS_REGION").empty() && env.Get("AWS_DEFAULT_REGION").empty()) {
    std::string path =
        info.contains("config") ? BytesFromJson(info["config"]).value_or("") : std::string();
    const deploy::DeploymentStore store = path.empty() ? deploy::DeploymentStore::Default(env)
                                                       : deploy::DeploymentStore::SingleFile(path);
    auto rec = store.Find(function);
    if (rec.ok() && !rec->record.region.empty()) env.Set("AWS_REGION", rec->record.region);
  }
  auto session = aws::AwsSession::Open(env);
  if (!session.ok()) return Fail(session.status().message());
  aws::LambdaClient lambda((*session)->Client("lambda"));
  auto before = lambda.GetFunctionConcurrencyAndWait(function);
  if (!before.ok()) {
    return Fail(
        fmt::format("cannot read the reserved concurrency of Lambda function '{}' ({}); "
                    "queued events were not stopped: check `parallelagram doctor`",
                    function, before.error().status.message()));
  }
  const std::optional<int> previous = *before;
  const std::string prev_text =
      previous ? fmt::format("reserved concurrency {}", *previous) : "no reserved concurrency";
  auto zero = lambda.PutFunctionConcurrencyAndWait(function, 0);
  if (!zero.ok()) {
    return Fail(
        fmt::format("cannot set the reserved concurrency of '{}' to 0 ({}); queued "
                    "events were not stopped",
                    function, zero.error().status.message()));
  }
  Say(fmt::format(
      "set Lambda function {}'s reserved concurrency to 0 (it had {}): async events still "
      "queued for it are throttled and dropped instead of running after the driver is gone",
      function, prev_text));
  std::this_thread::sleep_for(std::chrono::milliseconds(drain_ms));
  if (previous) {
    auto put = lambda.PutFunctionConcurrencyAndWait(function, *previous);
    if (!put.ok()) {
      return Fail(fmt::format(
          "could not restore reserved concurrency {} on '{}' ({}); it is still 0, so every "
          "invocation is throttled: run `aws lambda put-function-concurrency --function-name {} "
          "--reserved-concurrent-executions {}`",
          *previous, function, put.error().status.message(), function, *previous));
    }
  } else {
    auto del = lambda.DeleteFunctionConcurrencyAndWait(function);
    if (!del.ok()) {
      return Fail(fmt::format(
          "could not remove the reserved concurrency of '{}' ({}); it is still 0, so every "
          "invocation is throttled: run `aws lambda delete-function-concurrency "
          "--function-name {}`",
          function, del.error().status.message(), function));
    }
  }
  Say(
      fmt::format("restored {} on {} after {:.1f} s; events queued by other jobs of this "
                  "function were dropped too",
                  prev_text, function, static_cast<double>(drain_ms) / 1000.0));
  return 0;
}

}  // namespace

int CancelMain(int argc, char** argv) {
  CLI::App app{
      "Cancel a job: stop its driver (SIGTERM; the job is recorded as cancelled and its local "
      "workers end with it) and, for an async job on AWS, drop the events still queued at "
      "Lambda by setting the function's reserved concurrency to 0 for a few seconds, then "
      "restoring it. Note: that also drops queued events of other jobs using the function.",
      argv[0]};
  std::string job, state_dir;
  double wait_s = 10, drain_s = 5;
  bool no_drain = false;
  app.add_option("JOB", job, "the job id ('last' for the most recent job)")->required();
  app.add_option("--state-dir", state_dir, "where jobs are recorded (as for `run`)");
  app.add_option("--wait", wait_s, "seconds to wait for the driver to exit before SIGKILL")
      ->capture_default_str();
  app.add_option("--drain-seconds", drain_s,
                 "seconds the reserved concurrency stays 0 (AWS async jobs)")
      ->capture_default_str();
  app.add_flag("--no-drain", no_drain, "leave the function's concurrency alone");
  if (auto r = ParseArgs(app, argc, argv)) return *r;

  auto root = driver::ResolveStateRoot(state_dir);
  if (!root.ok()) return Fail(root.status().message());
  auto resolved = driver::ResolveLastJob(*root, job);
  if (!resolved.ok()) return Fail(resolved.status().message());
  job = *resolved;
  auto summary = driver::ReadJob(*root, job);
  if (!summary.ok()) return Fail(summary.status().message());
  json info = summary->info;
  const std::string backend = info.value("backend", std::string("local"));
  const std::string mode = info.value("mode", std::string("sync"));

  auto stop = driver::StopJob(*root, job, static_cast<int64_t>(wait_s * 1000));
  if (!stop.ok()) return Fail(stop.status().message());
  const int pid = stop->pid;
  switch (stop->how) {
    case driver::StopOutcome::How::kStopped:
      if (stop->status == "cancelled") {
        Say(
            fmt::format("stopped job {} (driver pid {}): {} of {} tasks had finished; the rest "
                        "were not run or were abandoned{}",
                        job, pid, driver::ReadJob(*root, job)->finished, summary->total,
                        backend == "local" ? ", and its local workers ended with it" : ""));
      } else {
        Say(fmt::format("job {} ended as '{}' while being cancelled", job,
                        stop->status.empty() ? "unknown" : stop->status));
      }
      break;
    case driver::StopOutcome::How::kKilled:
      Say(
          fmt::format("job {}'s driver (pid {}) did not exit within {:.0f} s of SIGTERM, so it "
                      "was killed; the job is marked cancelled",
                      job, pid, wait_s));
      break;
    case driver::StopOutcome::How::kMarkedDead:
      Say(fmt::format("job {}'s driver (pid {}) is no longer running; the job is marked cancelled",
                      job, pid));
      break;
    case driver::StopOutcome::How::kNotRunning:
      Say(fmt::format("job {} is not running (status '{}'); nothing to stop", job, stop->status));
      if (stop->status == "finished" || stop->status == "halted") return 0;
      break;
  }

  if (backend != "aws") return 0;
  if (mode != "async") {
    Say("sync-mode invocations hold no queue at Lambda: any still running finish on their own "
        "(at most the function's timeout) and their results are discarded");
    return 0;
  }
  if (no_drain) {
    Say("--no-drain: events already queued at Lambda for this job will still run");
    return 0;
  }
  return DrainQueue(info, static_cast<int64_t>(drain_s * 1000));
}

}  // namespace parallelagram::cli
