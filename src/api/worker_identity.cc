#include "api/worker_identity.h"

#include <unistd.h>

#include <climits>
#include <filesystem>

#include "deploy/deployer.h"

namespace parallelagram {

std::string WorkerExecutable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

Status CheckDeployedBuild(const driver::Backend& backend) {
  const std::string self = WorkerExecutable();
  PG_ASSIGN_OR_RETURN(std::string mine, deploy::BuildIdentity(self));
  const auto& env = backend.function_environment();
  auto it = env.find(deploy::kBuildEnvVar);
  if (it != env.end() && it->second == mine) return Status::Ok();
  const std::string program = std::filesystem::path(self).filename().string();
  auto p = env.find(deploy::kProgramEnvVar);
  std::string what;
  if (it == env.end()) {
    what = "does not run " + program + " (no build recorded by deploy)";
  } else if (p != env.end() && p->second != program) {
    what = "runs " + p->second + ", not " + program;
  } else {
    what = "runs another build of " + program;
  }
  return Status::InvalidArgument("function " + backend.function_name() + " " + what +
                                 ": redeploy with `parallelagram deploy --bootstrap " + self +
                                 " --function " + backend.function_name() + "`");
}

}  // namespace parallelagram
