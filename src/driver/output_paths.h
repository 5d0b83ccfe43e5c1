// Checks made before a run creates anything (its job directory first): a setup error found
// after that would leave an empty job behind and make the --job-id unusable.
// Thread-safety: free functions, no state.
#pragma once

#include <string>

#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// --results DIR names a directory, or a path that can be made one (no component of it is an
// existing file, and its nearest existing ancestor is a writable directory); --joblog FILE is
// not a directory and its directory exists and is writable. InvalidArgument naming the option,
// the path and what to do. Nothing is created.
Status CheckOutputPaths(const RunOptions& opts);

}  // namespace parallelagram::driver
