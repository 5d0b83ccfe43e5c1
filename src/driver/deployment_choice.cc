#include "driver/deployment_choice.h"

#include <fmt/format.h>

#include "deploy/deployment_store.h"

namespace parallelagram::driver {

Result<deploy::DeploymentRecord> ChooseDeployment(const std::string& config_file,
                                                  const std::string& function_flag,
                                                  const std::string& bucket_flag,
                                                  const aws::Environment& env) {
  const std::string function = function_flag.empty() ? env.Get(kFunctionEnvVar) : function_flag;
  const std::string bucket = bucket_flag.empty() ? env.Get(kBucketEnvVar) : bucket_flag;
  const deploy::DeploymentStore store = config_file.empty()
                                            ? deploy::DeploymentStore::Default(env)
                                            : deploy::DeploymentStore::SingleFile(config_file);
  auto found = store.Find(function);
  deploy::DeploymentRecord rec;
  if (found.ok()) {
    rec = std::move(found->record);
  } else if (found.status().code() != StatusCode::kNotFound || function.empty()) {
    if (found.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(fmt::format(
          "no deployment is recorded in {}: run `parallelagram deploy` first (--function NAME "
          "--bucket BUCKET), or give both --function and --bucket (or set {} and {})",
          store.Describe(), kFunctionEnvVar, kBucketEnvVar));
    }
    return found.status();
  } else if (bucket.empty()) {
    // A function deployed by other means: the bucket of the only recorded deployment.
    auto only = store.Find("");
    if (!only.ok()) {
      return Status::NotFound(
          fmt::format("no bucket for function '{}': give --bucket (or set {}); {}", function,
                      kBucketEnvVar, found.status().message()));
    }
    rec = std::move(only->record);
    rec.function_arn.clear();
    rec.reserved_concurrency.reset();
  }
  if (!function.empty()) rec.function_name = function;
  if (!bucket.empty()) rec.bucket = bucket;
  return rec;
}

}  // namespace parallelagram::driver
