#include "driver/task_env.h"

#include <array>
#include <cctype>
#include <cstdlib>

namespace parallelagram::driver {
namespace {

constexpr std::array<const char*, 3> kSecretNames = {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                                     "AWS_SECURITY_TOKEN"};

bool ValidEnvName(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// True when `name`=`value` would hand a task an AWS secret of the driver's.
bool HoldsSecret(const std::string& name, const std::string& value, const EnvLookup& getenv) {
  for (const char* s : kSecretNames) {
    if (name == s) return true;
    std::string mine;
    if (!value.empty() && getenv(s, &mine) && !mine.empty() && mine == value) return true;
  }
  return false;
}

}  // namespace

Status CheckEnvOption(const std::string& value) {
  const std::string name = value.substr(0, value.find('='));
  if (ValidEnvName(name)) return Status::Ok();
  return Status::InvalidArgument(
      "--env takes NAME (copy the variable from here) or NAME=VALUE, NAME made of letters, "
      "digits and '_' not starting with a digit; got '" +
      name + "'");
}

Result<std::map<std::string, std::string>> ResolveTaskEnv(const std::vector<std::string>& options,
                                                          bool allow_secrets,
                                                          const EnvLookup& getenv) {
  std::map<std::string, std::string> env;
  for (const std::string& o : options) {
    PG_RETURN_IF_ERROR(CheckEnvOption(o));
    const size_t eq = o.find('=');
    const std::string name = o.substr(0, eq);
    std::string value;
    if (eq != std::string::npos) {
      value = o.substr(eq + 1);
      if (HoldsSecret(name, value, getenv)) {
        return Status::InvalidArgument(
            "--env " + name +
            "=...: that is an AWS secret, and a value given on the command line is recorded in "
            "job.json; export it and give --env " +
            name + " --env-secret (or let the function's role give tasks credentials)");
      }
    } else {
      if (!getenv(name, &value)) {
        return Status::InvalidArgument("--env " + name + ": " + name +
                                       " is not set here; set it, or give --env " + name +
                                       "=VALUE");
      }
      if (!allow_secrets && HoldsSecret(name, value, getenv)) {
        return Status::InvalidArgument(
            "--env " + name + ": " + name +
            " holds an AWS secret, which tasks do not get unless you add --env-secret (on "
            "Lambda the function's role gives tasks credentials)");
      }
    }
    env[name] = std::move(value);
  }
  return env;
}

Result<std::map<std::string, std::string>> ResolveTaskEnv(const std::vector<std::string>& options,
                                                          bool allow_secrets) {
  return ResolveTaskEnv(options, allow_secrets, [](const std::string& n, std::string* v) {
    const char* s = std::getenv(n.c_str());
    if (s == nullptr) return false;
    *v = s;
    return true;
  });
}

}  // namespace parallelagram::driver
