// DeploymentRecord: what `parallelagram deploy` set up, kept in a small JSON file so that
// `run --backend aws` needs no further flags and `destroy` removes exactly what deploy
// created (and nothing it found already there).
//
// One record per function; where the files live is DeploymentStore's business
// (deploy/deployment_store.h). It holds no secret. Thread-safety: plain functions.
#pragma once

#include <optional>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::deploy {

struct DeploymentRecord {
  std::string function_name;
  std::string function_arn;
  std::string region;
  std::string bucket;
  std::string prefix;  // job data lives under s3://bucket/prefix/ (no trailing '/')
  std::string role_arn;
  std::string role_policy_name;  // the inline policy deploy put on the role ("" if none)
  std::string architecture;
  std::string code_sha256;  // Lambda's CodeSha256 (base64) of the deployed zip
  int memory_mb = 0;
  int timeout_seconds = 0;
  int ephemeral_storage_mb = 0;
  std::optional<int> reserved_concurrency;
  bool logs = true;
  // What deploy created (destroy removes only these).
  bool created_bucket = false;
  bool created_role = false;
  bool created_function = false;
};

// Errors: NotFound ("no deployment recorded in PATH: run `parallelagram deploy` first"),
// InvalidArgument when the file is not a record.
Result<DeploymentRecord> LoadDeployment(const std::string& path);

// Writes the record atomically (temporary file + rename), creating the directory.
Status SaveDeployment(const std::string& path, const DeploymentRecord& record);

}  // namespace parallelagram::deploy
