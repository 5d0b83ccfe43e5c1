// The IAM documents of the worker's role: Lambda's trust policy, and the least-privilege
// inline policy (only the job bucket's prefix; CloudWatch Logs only when logs are wanted,
// since every new execution environment's CreateLogStream draws on an account-wide quota).
// Pure functions.
#pragma once

#include <string>

namespace parallelagram::deploy {

inline constexpr char kRolePolicyName[] = "parallelagram-worker";

// Lets lambda.amazonaws.com assume the role.
std::string LambdaTrustPolicy();

struct WorkerPolicyScope {
  std::string partition = "aws";
  std::string region;
  std::string account;  // 12 digits
  std::string function_name;
  std::string bucket;
  std::string prefix;  // no trailing '/'
  bool logs = true;    // false: no CloudWatch Logs permission at all (no CreateLogStream)
};

// s3:GetObject/PutObject on bucket/prefix/*, s3:ListBucket on the bucket for keys under
// prefix/, and with `logs` the log group /aws/lambda/<function>'s stream and event writes.
std::string WorkerRolePolicy(const WorkerPolicyScope& scope);

}  // namespace parallelagram::deploy
