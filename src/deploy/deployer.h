// Deploy and destroy: the AWS side of `parallelagram deploy` / `destroy`.
//
// Deploy makes the function ready for `run --backend aws`, in order: the bucket (created
// with create_bucket, else checked), the worker role (created with the least-privilege
// inline policy unless role_arn is given), the function package (created, or updated only
// where it differs: a re-deploy with nothing changed uploads nothing), the wait for
// State Active / LastUpdateStatus Successful, and reserved concurrency. Each step is
// reported through `say` as one line. It fills in the record to save; what it created is
// marked so that Destroy removes exactly that.
//
// Thread-safety: one thread; the session's loop runs inside. Errors: one line naming the
// step and AWS's error code (from AwsError), and what to do.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "aws/aws_session.h"
#include "deploy/deployment_record.h"
#include "os/process_runner.h"
#include "parallelagram/status.h"

namespace parallelagram::deploy {

// The function's environment variable naming the build of its bootstrap: "sha256:" + the
// bootstrap file's SHA-256. A program that is its own worker checks it before it sends
// anything (api/worker_identity.h).
inline constexpr char kBuildEnvVar[] = "PARALLELAGRAM_BUILD";
// ... and the bootstrap's file name ("bootstrap" for the stock worker, "mysim" for a program).
inline constexpr char kProgramEnvVar[] = "PARALLELAGRAM_PROGRAM";

// The kBuildEnvVar value of the executable at `path`: "sha256:<hex>". IoError when unreadable.
Result<std::string> BuildIdentity(const std::string& path);

struct DeployOptions {
  std::string function_name;
  std::string bucket;
  std::string prefix = "parallelagram";
  int memory_mb = 1024;
  int timeout_seconds = 300;
  int ephemeral_storage_mb = 512;
  bool create_bucket = false;
  std::string role_arn;  // "": create parallelagram-<function> with the inline policy
  bool logs = true;
  std::optional<int> reserved_concurrency;  // nullopt: the default (see ChooseReservedConcurrency)
  // `--reserved-concurrency none`: no reservation; an existing one is removed
  // (DeleteFunctionConcurrency) and the function shares the account's unreserved pool.
  // Excludes reserved_concurrency.
  bool no_reserved_concurrency = false;
  std::string bootstrap_path;        // the worker to package
  int64_t wait_timeout_ms = 300000;  // for Active / Successful
};

// The account's unreserved pool must keep at least this many (AWS refuses to go below it).
inline constexpr int kMinUnreservedConcurrency = 100;
// Without --reserved-concurrency: min(kDefaultReservedConcurrency, half of what can be spared).
inline constexpr int kDefaultReservedConcurrency = 1000;

// The reservation to make. `available` is the unreserved pool plus the function's current
// reservation. A requested value that would leave fewer than kMinUnreservedConcurrency
// unreserved is an InvalidArgument saying why and what the account allows. With no request,
// nullopt when nothing can be spared (then the function shares the unreserved pool).
Result<std::optional<int>> ChooseReservedConcurrency(std::optional<int> requested, int available);

struct DeployResult {
  DeploymentRecord record;
  bool code_uploaded = false;
};

// `out` is filled as deploy goes, also when it fails part-way: its record then says what was
// created before the failure, for the caller to save (so that destroy can remove it).
Status Deploy(aws::AwsSession& session, const DeployOptions& options,
              const std::optional<DeploymentRecord>& previous, os::ProcessRunner& runner,
              const std::function<void(const std::string&)>& say, DeployResult* out);

// Removes what `record` says deploy created: the function, the role (its inline policy
// first), and the bucket when deploy created it and it holds nothing outside the prefix
// (the job data under the prefix goes with it). Missing pieces are skipped, not errors.
Status Destroy(aws::AwsSession& session, const DeploymentRecord& record,
               const std::function<void(const std::string&)>& say);

}  // namespace parallelagram::deploy
