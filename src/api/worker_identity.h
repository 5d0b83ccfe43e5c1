// Which build of a program a Lambda function runs.
//
// `parallelagram deploy --bootstrap ./mysim` records the program's identity in the function's
// environment (deploy::kBuildEnvVar = deploy::BuildIdentity, the executable's SHA-256). A
// program that drives that function through Executor (backend "aws") compares it with its own
// before sending anything: its calls name functions by their registered names, and another build of
// the program may not have them, or have them with other types.
// Thread-safety: free functions.
#pragma once

#include <string>

#include "driver/backend.h"
#include "parallelagram/status.h"

namespace parallelagram {

// This process's executable (/proc/self/exe resolved), or "" when it cannot be found.
std::string WorkerExecutable();
// OK when `backend`'s function runs this very executable; else FailedPrecondition-like
// InvalidArgument with one line: which function, and the deploy command that fixes it.
Status CheckDeployedBuild(const driver::Backend& backend);

}  // namespace parallelagram
