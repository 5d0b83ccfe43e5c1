// What `run --env` puts in every task's environment.
//
// Nothing of the driver's environment reaches a task unless named: `--env NAME` copies the
// driver's NAME (read at each run, a resume included: the value is never recorded), and
// `--env NAME=VALUE` sets one (recorded in job.json with the other options). A variable that
// holds an AWS secret (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, or any
// value equal to the driver's own secret key or session token) is refused unless
// `--env-secret` is given, and then only in the `--env NAME` form, so that the secret is
// never written to disk. On Lambda the function's role already gives tasks credentials.
// Errors: InvalidArgument, one line naming the option and what to do (never the value).
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

// Checks the form of one --env value (NAME or NAME=VALUE, NAME a shell variable name).
Status CheckEnvOption(const std::string& value);

// The variables `--env` gives every task. `getenv` reads the driver's environment (tests pass
// their own); it returns false for an unset variable.
using EnvLookup = std::function<bool(const std::string& name, std::string* value)>;
Result<std::map<std::string, std::string>> ResolveTaskEnv(const std::vector<std::string>& options,
                                                          bool allow_secrets,
                                                          const EnvLookup& getenv);
// ResolveTaskEnv over this process's environment.
Result<std::map<std::string, std::string>> ResolveTaskEnv(const std::vector<std::string>& options,
                                                          bool allow_secrets);

}  // namespace parallelagram::driver
