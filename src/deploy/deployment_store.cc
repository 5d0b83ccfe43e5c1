#include "deploy/deployment_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace parallelagram::deploy {
namespace fs = std::filesystem;

namespace {

constexpr const char* kDeployHint = "--function NAME --bucket BUCKET";

std::string JoinFunctionNames(const std::vector<DeploymentStore::Entry>& entries) {
  std::string names;
  for (const auto& e : entries) {
    if (!names.empty()) names += ", ";
    names += e.record.function_name;
  }
  return names;
}

}  // namespace

DeploymentStore DeploymentStore::Default(const aws::Environment& env) {
  std::string base = env.Get("XDG_CONFIG_HOME");
  if (base.empty() && !env.Get("HOME").empty()) base = env.Get("HOME") + "/.config";
  DeploymentStore s;
  if (!base.empty()) {
    s.dir_ = base + "/parallelagram/deployments";
    s.single_ = base + "/parallelagram/deployment.json";
  }
  return s;
}

DeploymentStore DeploymentStore::SingleFile(const std::string& path) {
  DeploymentStore s;
  s.single_ = path;
  s.single_only_ = true;
  return s;
}

std::string DeploymentStore::FileNameFor(const std::string& function) {
  std::string out;
  for (unsigned char c : function) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out + ".json";
}

std::string DeploymentStore::Describe() const {
  if (single_only_) return single_;
  if (dir_.empty()) return "(nowhere: neither XDG_CONFIG_HOME nor HOME is set)";
  return dir_ + "/";
}

Result<std::vector<DeploymentStore::Entry>> DeploymentStore::List() const {
  std::map<std::string, Entry> by_name;
  std::error_code ec;
  if (!dir_.empty() && fs::is_directory(dir_, ec)) {
    std::vector<std::string> files;
    for (const auto& de : fs::directory_iterator(dir_, ec)) {
      const std::string name = de.path().filename().string();
      if (name.size() > 5 && name.ends_with(".json") && name[0] != '.') {
        files.push_back(de.path().string());
      }
    }
    for (const auto& f : files) {
      PG_ASSIGN_OR_RETURN(DeploymentRecord r, LoadDeployment(f));
      const std::string name = r.function_name;  // before r is moved from
      by_name[name] = Entry{std::move(r), f};
    }
  }
  if (!single_.empty() && fs::exists(single_, ec)) {
    PG_ASSIGN_OR_RETURN(DeploymentRecord r, LoadDeployment(single_));
    const std::string name = r.function_name;
    if (!by_name.contains(name)) by_name[name] = Entry{std::move(r), single_};
  }
  std::vector<Entry> out;
  out.reserve(by_name.size());
  for (auto& [name, e] : by_name) out.push_back(std::move(e));
  return out;
}

Result<DeploymentStore::Entry> DeploymentStore::Find(const std::string& function) const {
  PG_ASSIGN_OR_RETURN(std::vector<Entry> all, List());
  if (function.empty()) {
    if (all.size() == 1) return std::move(all.front());
    if (all.empty()) {
      return Status::NotFound(fmt::format(
          "no deployment is recorded in {}: run `parallelagram deploy` first ({}), or give both "
          "--function and --bucket",
          Describe(), kDeployHint));
    }
    return Status::InvalidArgument(
        fmt::format("{} deployments are recorded ({}): pick one with --function NAME", all.size(),
                    JoinFunctionNames(all)));
  }
  for (auto& e : all) {
    if (e.record.function_name == function) return std::move(e);
  }
  if (all.empty()) {
    return Status::NotFound(fmt::format(
        "no deployment is recorded in {}: run `parallelagram deploy` first (--function {} "
        "--bucket BUCKET), or give --bucket too",
        Describe(), function));
  }
  return Status::NotFound(fmt::format(
      "no deployment of function '{}' is recorded in {} (recorded: {}): name one of those with "
      "--function, or deploy it with `parallelagram deploy --function {} --bucket BUCKET`",
      function, Describe(), JoinFunctionNames(all), function));
}

Status DeploymentStore::CheckSavable(const std::string& function) const {
  if (!single_only_ && dir_.empty()) {
    return Status::InvalidArgument(
        "cannot tell where to record the deployment: neither XDG_CONFIG_HOME nor HOME is set; "
        "set one, or give --config FILE");
  }
  if (single_only_) {
    std::error_code ec;
    if (!fs::exists(single_, ec)) return Status::Ok();
    PG_ASSIGN_OR_RETURN(DeploymentRecord r, LoadDeployment(single_));
    if (r.function_name != function) {
      return Status::InvalidArgument(fmt::format(
          "{} records the deployment of function '{}', and one --config file holds one "
          "deployment: give another --config file (or none: the default keeps one record per "
          "function), or `parallelagram destroy --config {}` first",
          single_, r.function_name, single_));
    }
  }
  return Status::Ok();
}

Result<std::string> DeploymentStore::Save(const DeploymentRecord& record) const {
  PG_RETURN_IF_ERROR(CheckSavable(record.function_name));
  if (single_only_) {
    PG_RETURN_IF_ERROR(SaveDeployment(single_, record));
    return single_;
  }
  const std::string path = dir_ + "/" + FileNameFor(record.function_name);
  PG_RETURN_IF_ERROR(SaveDeployment(path, record));
  std::error_code ec;
  if (!single_.empty() && fs::exists(single_, ec)) {
    auto old = LoadDeployment(single_);
    if (old.ok() && old->function_name == record.function_name) fs::remove(single_, ec);
  }
  return path;
}

void DeploymentStore::Forget(const std::string& function) const {
  std::error_code ec;
  if (!single_only_ && !dir_.empty()) fs::remove(dir_ + "/" + FileNameFor(function), ec);
  if (!single_.empty() && fs::exists(single_, ec)) {
    auto old = LoadDeployment(single_);
    if (old.ok() && old->function_name == function) fs::remove(single_, ec);
  }
}

}  // namespace parallelagram::deploy
