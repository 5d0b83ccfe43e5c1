#include "deploy/deployer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "aws/iam_client.h"
#include "aws/lambda_client.h"
#include "aws/s3_client.h"
#include "aws/sts_client.h"
#include "common/base64.h"
#include "common/sha256.h"
#include "deploy/function_package.h"
#include "deploy/role_policy.h"

namespace parallelagram::deploy {

Result<std::string> BuildIdentity(const std::string& path) {
  PG_ASSIGN_OR_RETURN(std::string hex, Sha256File(path));
  return "sha256:" + hex;
}

namespace {

constexpr size_t kMaxDirectZipBytes = 50u << 20;  // Lambda's limit for a zip sent inline
constexpr char kFunctionDescription[] = "Parallelagram worker (parallelagram deploy)";

std::string RoleNameFor(const std::string& function) {
  std::string name = "parallelagram-" + function;
  return name.substr(0, 64);  // IAM's limit
}

std::string DescriptionOf(const aws::FunctionConfiguration& c) {
  nlohmann::json j = nlohmann::json::parse(c.raw_json, nullptr, false);
  return j.is_object() ? j.value("Description", std::string()) : std::string();
}

// A role that was just created cannot be assumed by Lambda for a few seconds (IAM is
// eventually consistent); CreateFunction says so with this message.
bool IsRoleNotReady(const aws::AwsError& e) {
  return e.code == "InvalidParameterValueException" &&
         e.message.find("cannot be assumed") != std::string::npos;
}

Status Step(const std::string& what, const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), what + ": " + s.message());
}

}  // namespace

Result<std::optional<int>> ChooseReservedConcurrency(std::optional<int> requested, int available) {
  const int spare = available - kMinUnreservedConcurrency;
  if (requested) {
    if (*requested < 0) {
      return Status::InvalidArgument("--reserved-concurrency must be 0 or more");
    }
    if (*requested > spare) {
      return Status::InvalidArgument(
          "--reserved-concurrency " + std::to_string(*requested) + " would leave the account " +
          std::to_string(available - *requested) + " unreserved concurrency, below the " +
          std::to_string(kMinUnreservedConcurrency) +
          " that AWS keeps for other functions; this account can reserve at most " +
          std::to_string(std::max(spare, 0)) + " (ask AWS for a higher concurrency limit)");
    }
    return requested;
  }
  if (spare <= 0) return std::optional<int>();
  return std::optional<int>(std::min(kDefaultReservedConcurrency, std::max(1, spare / 2)));
}

Status Deploy(aws::AwsSession& session, const DeployOptions& opts,
              const std::optional<DeploymentRecord>& previous, os::ProcessRunner& runner,
              const std::function<void(const std::string&)>& say, DeployResult* out) {
  DeployResult& result = *out;
  result = DeployResult{};
  DeploymentRecord& r = result.record;
  const bool same_function = previous && previous->function_name == opts.function_name;
  r.function_name = opts.function_name;
  r.region = session.region();
  r.bucket = opts.bucket;
  r.prefix = opts.prefix;
  r.memory_mb = opts.memory_mb;
  r.timeout_seconds = opts.timeout_seconds;
  r.ephemeral_storage_mb = opts.ephemeral_storage_mb;
  r.logs = opts.logs;
  r.created_bucket = same_function && previous->bucket == opts.bucket && previous->created_bucket;

  // Who we are (the account goes into the role policy's log ARNs).
  aws::StsClient sts(session.Client("sts"));
  auto id = session.Wait<aws::CallerIdentity>([&](auto d) { sts.GetCallerIdentity(d); });
  PG_RETURN_IF_ERROR(Step("checking the credentials (STS GetCallerIdentity)", id.status()));
  say("account " + id->account + " as " + id->arn + ", region " + session.region());

  // What can be checked before anything is created: the reservation the account allows,
  // and the package (a bad worker binary fails here).
  aws::LambdaClient lambda(session.Client("lambda"));
  auto settings = lambda.GetAccountSettingsAndWait();
  PG_RETURN_IF_ERROR(Step("reading the account's Lambda settings", settings.status()));
  auto current = lambda.GetFunctionConcurrencyAndWait(opts.function_name);
  std::optional<int> current_reserved;
  if (current.ok()) {
    current_reserved = *current;
  } else if (current.error().status.code() != StatusCode::kNotFound) {
    return Step("reading the function's reserved concurrency", current.status());
  }
  const int available = settings->unreserved_concurrent_executions + current_reserved.value_or(0);
  if (opts.no_reserved_concurrency && opts.reserved_concurrency) {
    return Status::InvalidArgument("--reserved-concurrency is either a number or 'none', not both");
  }
  std::optional<int> reserve;
  if (!opts.no_reserved_concurrency) {
    auto chosen = ChooseReservedConcurrency(opts.reserved_concurrency, available);
    if (!chosen.ok()) return chosen.status();
    reserve = *chosen;
  }

  auto built = BuildFunctionPackage(opts.bootstrap_path, runner);
  if (!built.ok()) return built.status();
  FunctionPackage& package = *built;
  if (package.zip.size() > kMaxDirectZipBytes) {
    return Status::InvalidArgument(
        "the function zip is " + std::to_string(package.zip.size() >> 20) +
        " MB, over Lambda's 50 MB for a direct upload; package a " + "release build of the worker");
  }
  r.architecture = package.architecture;
  r.code_sha256 = Base64Encode(Sha256Raw(package.zip));
  // Which build runs there, for a program that is its own worker (api/worker_identity.h).
  auto build = BuildIdentity(opts.bootstrap_path);
  if (!build.ok()) return build.status();
  const std::string program = std::filesystem::path(opts.bootstrap_path).filename().string();

  // The bucket.
  aws::S3Client::Options s3o;
  s3o.path_style = session.s3_path_style();
  aws::S3Client s3(session.Client("s3"), s3o);
  if (opts.create_bucket) {
    auto made =
        session.Wait<aws::S3Client::Empty>([&](auto d) { s3.CreateBucket(opts.bucket, d); });
    if (made.ok()) {
      r.created_bucket = true;
      say("created bucket " + opts.bucket);
    } else if (made.error().code == "BucketAlreadyOwnedByYou") {
      say("bucket " + opts.bucket + " already exists and is yours");
    } else {
      return Step("creating bucket " + opts.bucket, made.status());
    }
  } else {
    auto page = session.Wait<aws::ListObjectsPage>(
        // (No '/' in this probe's prefix: moto_server, our test stand-in, mis-verifies the
        // signature of a listing whose prefix holds one; real S3 does not.)
        [&](auto d) { s3.ListObjectsPage(opts.bucket, opts.prefix, "", 1, d); });
    if (!page.ok() && page.error().code == "NoSuchBucket") {
      return Status::NotFound("bucket " + opts.bucket + " does not exist: create it, or add " +
                              "--create-bucket");
    }
    PG_RETURN_IF_ERROR(Step("checking bucket " + opts.bucket, page.status()));
    say("bucket " + opts.bucket + " is reachable");
  }

  // The role.
  aws::IamClient iam(session.Client("iam"));
  if (!opts.role_arn.empty()) {
    r.role_arn = opts.role_arn;
    say("using role " + opts.role_arn + " as given (its policies are yours to manage)");
  } else {
    const std::string role_name = RoleNameFor(opts.function_name);
    auto made = session.Wait<aws::IamRole>(
        [&](auto d) { iam.CreateRole(role_name, LambdaTrustPolicy(), kFunctionDescription, d); });
    if (made.ok()) {
      r.role_arn = made->arn;
      r.created_role = true;
      say("created role " + role_name);
    } else if (made.error().code == "EntityAlreadyExists") {
      auto got = session.Wait<aws::IamRole>([&](auto d) { iam.GetRole(role_name, d); });
      PG_RETURN_IF_ERROR(Step("reading role " + role_name, got.status()));
      r.role_arn = got->arn;
      r.created_role = same_function && previous->created_role && previous->role_arn == got->arn;
      say("role " + role_name + " exists; its policy is updated");
    } else {
      return Step("creating role " + role_name, made.status());
    }
    WorkerPolicyScope scope;
    scope.region = session.region();
    scope.account = id->account;
    scope.function_name = opts.function_name;
    scope.bucket = opts.bucket;
    scope.prefix = opts.prefix;
    scope.logs = opts.logs;
    auto put = session.Wait<aws::IamClient::Empty>(
        [&](auto d) { iam.PutRolePolicy(role_name, kRolePolicyName, WorkerRolePolicy(scope), d); });
    PG_RETURN_IF_ERROR(Step("putting the role's policy", put.status()));
    r.role_policy_name = kRolePolicyName;
    say(std::string("role policy: s3 objects under s3://") + opts.bucket + "/" + opts.prefix + "/" +
        (opts.logs ? ", CloudWatch Logs" : ", no CloudWatch Logs (--no-logs)"));
  }

  // The function.
  auto existing = lambda.GetFunctionAndWait(opts.function_name);
  if (!existing.ok() && existing.error().status.code() != StatusCode::kNotFound) {
    return Step("reading function " + opts.function_name, existing.status());
  }
  if (!existing.ok()) {
    aws::CreateFunctionRequest req;
    req.function_name = opts.function_name;
    req.role = r.role_arn;
    req.zip_file = package.zip;
    req.timeout_seconds = opts.timeout_seconds;
    req.memory_mb = opts.memory_mb;
    req.ephemeral_storage_mb = opts.ephemeral_storage_mb;
    req.architecture = package.architecture;
    req.description = kFunctionDescription;
    req.environment[kBuildEnvVar] = *build;
    req.environment[kProgramEnvVar] = program;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int attempt = 1;; ++attempt) {
      auto created = lambda.CreateFunctionAndWait(req);
      if (created.ok()) break;
      if (IsRoleNotReady(created.error()) && std::chrono::steady_clock::now() < deadline) {
        if (attempt == 1)
          say("waiting for the new role to reach Lambda (IAM is eventually consistent)");
        std::this_thread::sleep_for(std::chrono::seconds(2));
        continue;
      }
      return Step("creating function " + opts.function_name, created.status());
    }
    result.code_uploaded = true;
    r.created_function = true;
    say("created function " + opts.function_name + " (" + std::to_string(package.zip.size()) +
        " bytes of code uploaded); waiting until it is Active");
    auto active = lambda.WaitUntilActiveAndWait(opts.function_name, opts.wait_timeout_ms);
    PG_RETURN_IF_ERROR(Step("waiting for function " + opts.function_name, active.status()));
    r.function_arn = active->function_arn;
  } else {
    const aws::FunctionConfiguration& c = existing->configuration;
    r.created_function =
        (same_function && previous->created_function) || DescriptionOf(c) == kFunctionDescription;
    const bool arch_differs = c.architectures.empty()
                                  ? package.architecture != "x86_64"
                                  : c.architectures.front() != package.architecture;
    if (c.code_sha256 != r.code_sha256 || arch_differs) {
      aws::UpdateFunctionCodeRequest up;
      up.function_name = opts.function_name;
      up.zip_file = package.zip;
      up.architecture = package.architecture;
      auto updated = lambda.UpdateFunctionCodeAndWait(up);
      PG_RETURN_IF_ERROR(Step("updating the code of " + opts.function_name, updated.status()));
      result.code_uploaded = true;
      say("updated the code of " + opts.function_name + " (" + std::to_string(package.zip.size()) +
          " bytes uploaded)");
      auto done = lambda.WaitUntilUpdatedAndWait(opts.function_name, opts.wait_timeout_ms);
      PG_RETURN_IF_ERROR(Step("waiting for function " + opts.function_name, done.status()));
    } else {
      say("code unchanged (sha256 " + r.code_sha256 + "): nothing uploaded");
    }
    aws::UpdateFunctionConfigurationRequest cfg;
    cfg.function_name = opts.function_name;
    bool change = false;
    if (c.memory_mb != opts.memory_mb) cfg.memory_mb = opts.memory_mb, change = true;
    if (c.timeout_seconds != opts.timeout_seconds)
      cfg.timeout_seconds = opts.timeout_seconds, change = true;
    if (c.ephemeral_storage_mb != 0 && c.ephemeral_storage_mb != opts.ephemeral_storage_mb) {
      cfg.ephemeral_storage_mb = opts.ephemeral_storage_mb, change = true;
    }
    if (c.role != r.role_arn) cfg.role = r.role_arn, change = true;
    if (c.runtime != "provided.al2023") cfg.runtime = "provided.al2023", change = true;
    if (c.handler != "bootstrap") cfg.handler = "bootstrap", change = true;
    auto recorded = [&c](const char* k) {
      auto it = c.environment.find(k);
      return it == c.environment.end() ? std::string() : it->second;
    };
    if (recorded(kBuildEnvVar) != *build || recorded(kProgramEnvVar) != program) {
      cfg.environment = c.environment;
      (*cfg.environment)[kBuildEnvVar] = *build;
      (*cfg.environment)[kProgramEnvVar] = program;
      change = true;
    }
    if (change) {
      auto updated = lambda.UpdateFunctionConfigurationAndWait(cfg);
      PG_RETURN_IF_ERROR(
          Step("updating the configuration of " + opts.function_name, updated.status()));
      auto done = lambda.WaitUntilUpdatedAndWait(opts.function_name, opts.wait_timeout_ms);
      PG_RETURN_IF_ERROR(Step("waiting for function " + opts.function_name, done.status()));
      say("updated the configuration of " + opts.function_name);
    } else {
      say("configuration unchanged");
    }
    r.function_arn = c.function_arn;
  }

  // Reserved concurrency (validated above).
  if (reserve && *reserve != current_reserved.value_or(-1)) {
    auto put = lambda.PutFunctionConcurrencyAndWait(opts.function_name, *reserve);
    PG_RETURN_IF_ERROR(Step("reserving concurrency", put.status()));
  }
  r.reserved_concurrency = reserve ? reserve : current_reserved;
  if (opts.no_reserved_concurrency) {
    if (current_reserved) {
      auto del = lambda.DeleteFunctionConcurrencyAndWait(opts.function_name);
      PG_RETURN_IF_ERROR(Step("removing the reserved concurrency", del.status()));
      say("removed the reserved concurrency (was " + std::to_string(*current_reserved) +
          "): the function shares the account's unreserved pool");
    } else {
      say("no reserved concurrency: the function shares the account's unreserved pool");
    }
    r.reserved_concurrency.reset();
  } else if (reserve) {
    say("reserved concurrency " + std::to_string(*reserve) + " of the account's " +
        std::to_string(settings->concurrent_executions));
  } else {
    say("warning: the account's concurrency limit (" +
        std::to_string(settings->concurrent_executions) +
        ") leaves nothing to reserve; the function shares the unreserved pool");
  }

  // Lambda's own retries of a failed async invocation (by default twice, 1 and 2 minutes
  // later) would run a task again after the driver has retried or given up on it: turn them
  // off; the driver's retry policy decides.
  auto events = lambda.GetFunctionEventInvokeConfigAndWait(opts.function_name);
  if (!events.ok() && events.error().status.code() != StatusCode::kNotFound) {
    return Step("reading the function's async invocation settings", events.status());
  }
  if (!events.ok() || events->maximum_retry_attempts != 0) {
    aws::EventInvokeConfig want;
    want.maximum_retry_attempts = 0;
    if (events.ok()) want.maximum_event_age_in_seconds = events->maximum_event_age_in_seconds;
    auto put = lambda.PutFunctionEventInvokeConfigAndWait(opts.function_name, want);
    PG_RETURN_IF_ERROR(Step("turning off Lambda's async retries", put.status()));
    say("Lambda's own async retries off (MaximumRetryAttempts 0): the driver retries tasks");
  }
  return Status::Ok();
}

Status Destroy(aws::AwsSession& session, const DeploymentRecord& r,
               const std::function<void(const std::string&)>& say) {
  if (r.created_function) {
    aws::LambdaClient lambda(session.Client("lambda"));
    auto del = lambda.DeleteFunctionAndWait(r.function_name);
    if (del.ok()) {
      say("deleted function " + r.function_name);
    } else if (del.error().status.code() == StatusCode::kNotFound) {
      say("function " + r.function_name + " was already gone");
    } else {
      return Step("deleting function " + r.function_name, del.status());
    }
  } else {
    say("function " + r.function_name + " was not created by deploy: kept");
  }
  if (r.created_role) {
    aws::IamClient iam(session.Client("iam"));
    const std::string role = aws::RoleNameFromArn(r.role_arn);
    if (!r.role_policy_name.empty()) {
      auto del = session.Wait<aws::IamClient::Empty>(
          [&](auto d) { iam.DeleteRolePolicy(role, r.role_policy_name, d); });
      if (!del.ok() && del.error().status.code() != StatusCode::kNotFound) {
        return Step("deleting the policy of role " + role, del.status());
      }
    }
    auto del = session.Wait<aws::IamClient::Empty>([&](auto d) { iam.DeleteRole(role, d); });
    if (del.ok()) {
      say("deleted role " + role);
    } else if (del.error().status.code() == StatusCode::kNotFound) {
      say("role " + role + " was already gone");
    } else {
      return Step("deleting role " + role, del.status());
    }
  }
  if (r.created_bucket) {
    aws::S3Client::Options s3o;
    s3o.path_style = session.s3_path_style();
    aws::S3Client s3(session.Client("s3"), s3o);
    auto all = session.Wait<std::vector<aws::S3Object>>(
        [&](auto d) { s3.ListAllObjects(r.bucket, "", d); });
    if (!all.ok() && all.error().code == "NoSuchBucket") {
      say("bucket " + r.bucket + " was already gone");
      return Status::Ok();
    }
    PG_RETURN_IF_ERROR(Step("listing bucket " + r.bucket, all.status()));
    std::vector<std::string> keys;
    size_t foreign = 0;
    for (const auto& obj : *all) {
      if (obj.key.rfind(r.prefix + "/", 0) == 0) {
        keys.push_back(obj.key);
      } else {
        ++foreign;
      }
    }
    if (foreign > 0) {
      say("bucket " + r.bucket + " kept: it holds " + std::to_string(foreign) +
          " objects outside " + r.prefix + "/ that parallelagram did not write");
      return Status::Ok();
    }
    if (!keys.empty()) {
      auto del =
          session.Wait<aws::S3Client::Empty>([&](auto d) { s3.DeleteObjects(r.bucket, keys, d); });
      PG_RETURN_IF_ERROR(Step("emptying bucket " + r.bucket, del.status()));
    }
    auto del = session.Wait<aws::S3Client::Empty>([&](auto d) { s3.DeleteBucket(r.bucket, d); });
    PG_RETURN_IF_ERROR(Step("deleting bucket " + r.bucket, del.status()));
    say("deleted bucket " + r.bucket + " (and its " + std::to_string(keys.size()) +
        " job objects under " + r.prefix + "/)");
  } else {
    say("bucket " + r.bucket + " was not created by deploy: kept");
  }
  return Status::Ok();
}

}  // namespace parallelagram::deploy
