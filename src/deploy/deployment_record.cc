#include "deploy/deployment_record.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace parallelagram::deploy {

Result<DeploymentRecord> LoadDeployment(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound("no deployment recorded in " + path +
                            ": run `parallelagram deploy` first, or give --function and --bucket");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("function_name") || !j["function_name"].is_string()) {
    return Status::InvalidArgument(path + " is not a parallelagram deployment record; " +
                                   "remove it and run `parallelagram deploy` again");
  }
  DeploymentRecord r;
  auto str = [&](const char* k) { return j.value(k, std::string()); };
  r.function_name = str("function_name");
  r.function_arn = str("function_arn");
  r.region = str("region");
  r.bucket = str("bucket");
  r.prefix = str("prefix");
  r.role_arn = str("role_arn");
  r.role_policy_name = str("role_policy_name");
  r.architecture = str("architecture");
  r.code_sha256 = str("code_sha256");
  r.memory_mb = j.value("memory_mb", 0);
  r.timeout_seconds = j.value("timeout_seconds", 0);
  r.ephemeral_storage_mb = j.value("ephemeral_storage_mb", 0);
  if (j.contains("reserved_concurrency") && j["reserved_concurrency"].is_number_integer()) {
    r.reserved_concurrency = j["reserved_concurrency"].get<int>();
  }
  r.logs = j.value("logs", true);
  r.created_bucket = j.value("created_bucket", false);
  r.created_role = j.value("created_role", false);
  r.created_function = j.value("created_function", false);
  return r;
}

Status SaveDeployment(const std::string& path, const DeploymentRecord& r) {
  nlohmann::json j = {
      {"function_name", r.function_name},
      {"function_arn", r.function_arn},
      {"region", r.region},
      {"bucket", r.bucket},
      {"prefix", r.prefix},
      {"role_arn", r.role_arn},
      {"role_policy_name", r.role_policy_name},
      {"architecture", r.architecture},
      {"code_sha256", r.code_sha256},
      {"memory_mb", r.memory_mb},
      {"timeout_seconds", r.timeout_seconds},
      {"ephemeral_storage_mb", r.ephemeral_storage_mb},
      {"reserved_concurrency",
       r.reserved_concurrency ? nlohmann::json(*r.reserved_concurrency) : nlohmann::json(nullptr)},
      {"logs", r.logs},
      {"created_bucket", r.created_bucket},
      {"created_role", r.created_role},
      {"created_function", r.created_function},
  };
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    out.close();
    if (!out) {
      std::filesystem::remove(tmp, ec);
      return Status::IoError("cannot write " + tmp + ": check that its directory is writable");
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::IoError("cannot write " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace parallelagram::deploy
