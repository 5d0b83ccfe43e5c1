// parallelagram deploy / destroy: set up (and tear down) the worker function on AWS.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "aws/aws_session.h"
#include "cli/commands.h"
#include "cli/parse_args.h"
#include "deploy/deployer.h"
#include "deploy/deployment_record.h"
#include "driver/local_backend.h"
#include "os/process_runner.h"

namespace parallelagram::cli {
namespace {

int Fail(const char* prog, const Status& s, int code = 1) {
  std::fprintf(stderr, "%s: %s\n", prog, s.message().c_str());
  return code;
}

// A --reserved-concurrency number: decimal digits only, at most 9 of them.
std::optional<int> ParseReservedConcurrency(const std::string& v) {
  if (v.empty() || v.size() > 9) return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

int DeployMain(int argc, char** argv) {
  CLI::App app{
      "Create or update the worker function on AWS Lambda (runtime provided.al2023, the "
      "architecture the worker was built for), its bucket and a least-privilege role, then "
      "wait until it is Active and record the deployment so that `run --backend aws` needs "
      "no further flags. Credentials, region and endpoints come from the usual AWS sources "
      "(see `parallelagram doctor`). A re-deploy with nothing changed uploads nothing.",
      argv[0]};
  deploy::DeployOptions o;
  std::string config_path;
  std::string reserved;
  app.add_option("--function", o.function_name, "the Lambda function's name")->required();
  app.add_option("--bucket", o.bucket, "the S3 bucket for staged files and results")->required();
  app.add_option("--prefix", o.prefix, "key prefix in the bucket for this tool's objects")
      ->capture_default_str();
  app.add_option("--memory", o.memory_mb, "function memory in MB (128-10240)")
      ->capture_default_str()
      ->check(CLI::Range(128, 10240));
  app.add_option("--timeout", o.timeout_seconds, "function timeout in seconds (1-900)")
      ->capture_default_str()
      ->check(CLI::Range(1, 900));
  app.add_option("--ephemeral-storage", o.ephemeral_storage_mb, "/tmp size in MB (512-10240)")
      ->capture_default_str()
      ->check(CLI::Range(512, 10240));
  app.add_flag("--create-bucket", o.create_bucket, "create the bucket if it does not exist");
  app.add_option("--role", o.role_arn,
                 "use this existing role ARN instead of creating parallelagram-FUNCTION");
  bool no_logs = false;
  app.add_flag("--no-logs", no_logs,
               "no CloudWatch Logs permission for the role (not even logs:CreateLogStream, whose "
               "account-wide rate quota a big fan-out would otherwise draw on)");
  app.add_option("--reserved-concurrency", reserved,
                 "reserved concurrency for the function: N, or `none` to remove any reservation "
                 "(DeleteFunctionConcurrency; the function then shares the account's unreserved "
                 "pool, and `doctor` warns about it) (default: half of what the account can "
                 "spare above 100 unreserved, at most 1000)");
  app.add_option("--bootstrap", o.bootstrap_path,
                 "the worker binary to deploy (default: `bootstrap` beside this program)");
  app.add_option("--config", config_path,
                 "where to record the deployment (default: "
                 "$XDG_CONFIG_HOME/parallelagram/deployment.json)");
  if (auto exit_status = ParseArgs(app, argc, argv)) return *exit_status;
  o.logs = !no_logs;
  if (reserved == "none") {
    o.no_reserved_concurrency = true;
  } else if (!reserved.empty()) {
    auto n = ParseReservedConcurrency(reserved);
    if (!n) {
      std::fprintf(stderr,
                   "%s: --reserved-concurrency '%s' is neither a number of 0 or more nor "
                   "'none'; give e.g. --reserved-concurrency 100, or none to remove the "
                   "reservation\n",
                   argv[0], reserved.c_str());
      return kExitUsage;
    }
    o.reserved_concurrency = *n;
  }
  if (!o.role_arn.empty() && no_logs) {
    std::fprintf(stderr,
                 "%s: --no-logs shapes the role deploy creates; with --role, remove "
                 "logs:CreateLogStream from your role yourself and drop --no-logs\n",
                 argv[0]);
    return kExitUsage;
  }
  if (o.bootstrap_path.empty()) {
    auto found = driver::FindBootstrap();
    if (!found.ok()) return Fail(argv[0], found.status(), kExitUsage);
    o.bootstrap_path = *found;
  }
  aws::Environment env = aws::Environment::FromProcess();
  if (config_path.empty()) config_path = deploy::DefaultDeploymentPath(env);
  std::optional<deploy::DeploymentRecord> previous;
  if (std::filesystem::exists(config_path)) {
    auto loaded = deploy::LoadDeployment(config_path);
    if (!loaded.ok()) return Fail(argv[0], loaded.status());
    previous = *loaded;
  }
  auto session = aws::AwsSession::Open(env);
  if (!session.ok()) return Fail(argv[0], session.status());
  os::PosixProcessRunner runner;
  deploy::DeployResult result;
  Status deployed = deploy::Deploy(**session, o, previous, runner, Say, &result);
  const deploy::DeploymentRecord& rec = result.record;
  if (!deployed.ok()) {
    const bool same = previous && previous->function_name == rec.function_name;
    const bool made_bucket = rec.created_bucket && !(same && previous->created_bucket);
    const bool made_role = rec.created_role && !(same && previous->created_role);
    const bool made_function = rec.created_function && !(same && previous->created_function);
    if (made_bucket || made_role || made_function) {
      // Keep what this run made findable (a later deploy continues, destroy removes it),
      // without losing what an earlier deploy recorded.
      deploy::DeploymentRecord keep = same ? *previous : rec;
      if (made_bucket) keep.created_bucket = true, keep.bucket = rec.bucket;
      if (made_role) keep.created_role = true, keep.role_arn = rec.role_arn;
      if (made_role) keep.role_policy_name = rec.role_policy_name;
      if (made_function) keep.created_function = true, keep.function_arn = rec.function_arn;
      (void)deploy::SaveDeployment(config_path, keep);
      std::fprintf(stderr,
                   "%s: %s (what was created so far is recorded in %s: run deploy "
                   "again, or destroy)\n",
                   argv[0], deployed.message().c_str(), config_path.c_str());
      return 1;
    }
    return Fail(argv[0], deployed);
  }
  if (Status s = deploy::SaveDeployment(config_path, rec); !s.ok()) return Fail(argv[0], s);
  Say("deployed " + rec.function_arn + "; recorded in " + config_path);
  return 0;
}

int DestroyMain(int argc, char** argv) {
  CLI::App app{
      "Remove exactly what `parallelagram deploy` created: the function, the role it "
      "made, and the bucket if it made it (with the job data under its prefix; a "
      "bucket holding anything else is kept). Then forget the deployment.",
      argv[0]};
  std::string config_path;
  app.add_option("--config", config_path,
                 "the deployment record (default: $XDG_CONFIG_HOME/parallelagram/deployment.json)");
  if (auto exit_status = ParseArgs(app, argc, argv)) return *exit_status;
  aws::Environment env = aws::Environment::FromProcess();
  if (config_path.empty()) config_path = deploy::DefaultDeploymentPath(env);
  auto record = deploy::LoadDeployment(config_path);
  if (!record.ok()) return Fail(argv[0], record.status());
  auto session = aws::AwsSession::Open(env);
  if (!session.ok()) return Fail(argv[0], session.status());
  if (Status s = deploy::Destroy(**session, *record, Say); !s.ok()) return Fail(argv[0], s);
  std::error_code ec;
  std::filesystem::remove(config_path, ec);
  Say("forgot the deployment recorded in " + config_path);
  return 0;
}

}  // namespace parallelagram::cli
