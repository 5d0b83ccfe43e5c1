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
#include "deploy/deployment_store.h"
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

// A re-deploy of a function must not drop what its earlier deploy created from the record
// (destroy could no longer find it): a bucket or role deploy made, replaced by another one.
Status RefuseToForget(const deploy::DeploymentRecord& previous, const deploy::DeployOptions& o,
                      const deploy::DeploymentStore& store) {
  const std::string destroy = "`parallelagram destroy --function " + previous.function_name + "`";
  if (previous.created_bucket && previous.bucket != o.bucket) {
    return Status::InvalidArgument("the deployment of " + previous.function_name + " recorded in " +
                                   store.Describe() + " created bucket " + previous.bucket +
                                   ", which --bucket " + o.bucket +
                                   " would leave unrecorded: deploy with --bucket " +
                                   previous.bucket + ", or run " + destroy + " first");
  }
  if (previous.created_role && !o.role_arn.empty() && o.role_arn != previous.role_arn) {
    return Status::InvalidArgument("the deployment of " + previous.function_name + " recorded in " +
                                   store.Describe() + " created role " + previous.role_arn +
                                   ", which --role would leave unrecorded: drop --role, or run " +
                                   destroy + " first");
  }
  return Status::Ok();
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
                 "record the deployment in this one file (default: one file per function in "
                 "$XDG_CONFIG_HOME/parallelagram/deployments/, so several deployments can be "
                 "kept)");
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
  const deploy::DeploymentStore store = config_path.empty()
                                            ? deploy::DeploymentStore::Default(env)
                                            : deploy::DeploymentStore::SingleFile(config_path);
  // The record of this function only: other deployments keep theirs.
  if (Status s = store.CheckSavable(o.function_name); !s.ok()) return Fail(argv[0], s, kExitUsage);
  std::optional<deploy::DeploymentRecord> previous;
  auto found = store.Find(o.function_name);
  if (found.ok()) {
    previous = std::move(found->record);
  } else if (found.status().code() != StatusCode::kNotFound) {
    return Fail(argv[0], found.status());
  }
  if (previous) {
    if (Status s = RefuseToForget(*previous, o, store); !s.ok()) {
      return Fail(argv[0], s, kExitUsage);
    }
  }
  auto session = aws::AwsSession::Open(env);
  if (!session.ok()) return Fail(argv[0], session.status());
  os::PosixProcessRunner runner;
  deploy::DeployResult result;
  Status deployed = deploy::Deploy(**session, o, previous, runner, Say, &result);
  const deploy::DeploymentRecord& rec = result.record;
  if (!deployed.ok()) {
    const bool made_bucket = rec.created_bucket && !(previous && previous->created_bucket);
    const bool made_role = rec.created_role && !(previous && previous->created_role);
    const bool made_function = rec.created_function && !(previous && previous->created_function);
    if (made_bucket || made_role || made_function) {
      // Keep what this run made findable (a later deploy continues, destroy removes it),
      // without losing what an earlier deploy recorded.
      deploy::DeploymentRecord keep = previous ? *previous : rec;
      if (made_bucket) keep.created_bucket = true, keep.bucket = rec.bucket;
      if (made_role) keep.created_role = true, keep.role_arn = rec.role_arn;
      if (made_role) keep.role_policy_name = rec.role_policy_name;
      if (made_function) keep.created_function = true, keep.function_arn = rec.function_arn;
      auto saved = store.Save(keep);
      std::fprintf(stderr,
                   "%s: %s (what was created so far is recorded in %s: run deploy "
                   "again, or destroy --function %s)\n",
                   argv[0], deployed.message().c_str(),
                   saved.ok() ? saved->c_str() : store.Describe().c_str(),
                   rec.function_name.c_str());
      return 1;
    }
    return Fail(argv[0], deployed);
  }
  auto saved = store.Save(rec);
  if (!saved.ok()) return Fail(argv[0], saved.status());
  Say("deployed " + rec.function_arn + "; recorded in " + *saved);
  return 0;
}

int DestroyMain(int argc, char** argv) {
  CLI::App app{
      "Remove exactly what `parallelagram deploy` created for one function: the function, the "
      "role it made, and the bucket if it made it (with the job data under its prefix; a "
      "bucket holding anything else, or used by another recorded deployment, is kept). Then "
      "forget that deployment.",
      argv[0]};
  std::string config_path;
  std::string function;
  app.add_option("--function", function,
                 "the deployment to remove (needed only when several are recorded; "
                 "`parallelagram doctor` lists them)");
  app.add_option("--config", config_path,
                 "a deployment record file given to `deploy --config` (default: the records in "
                 "$XDG_CONFIG_HOME/parallelagram/deployments/)");
  if (auto exit_status = ParseArgs(app, argc, argv)) return *exit_status;
  aws::Environment env = aws::Environment::FromProcess();
  const deploy::DeploymentStore store = config_path.empty()
                                            ? deploy::DeploymentStore::Default(env)
                                            : deploy::DeploymentStore::SingleFile(config_path);
  auto found = store.Find(function);
  if (!found.ok()) {
    return Fail(argv[0], found.status(),
                found.status().code() == StatusCode::kInvalidArgument ? kExitUsage : 1);
  }
  deploy::DeploymentRecord record = found->record;
  // A bucket this deployment created but another recorded one uses stays, and the other
  // deployment now owns it (its destroy removes it), so nothing is forgotten.
  std::optional<deploy::DeploymentStore::Entry> heir;
  if (record.created_bucket && config_path.empty()) {
    auto all = store.List();
    if (all.ok()) {
      for (auto& e : *all) {
        if (e.record.function_name != record.function_name && e.record.bucket == record.bucket) {
          heir = std::move(e);
          break;
        }
      }
    }
  }
  if (heir) record.created_bucket = false;
  auto session = aws::AwsSession::Open(env);
  if (!session.ok()) return Fail(argv[0], session.status());
  auto say = [&](const std::string& line) {
    if (heir && line.rfind("bucket " + record.bucket + " was not created", 0) == 0) {
      Say("bucket " + record.bucket + " kept: deployment " + heir->record.function_name +
          " uses it (its destroy removes it)");
      return;
    }
    Say(line);
  };
  if (Status s = deploy::Destroy(**session, record, say); !s.ok()) return Fail(argv[0], s);
  if (heir && !heir->record.created_bucket) {
    heir->record.created_bucket = true;
    if (auto saved = store.Save(heir->record); !saved.ok()) return Fail(argv[0], saved.status());
  }
  store.Forget(record.function_name);
  Say("forgot the deployment of " + record.function_name + " recorded in " + found->path);
  return 0;
}

}  // namespace parallelagram::cli
