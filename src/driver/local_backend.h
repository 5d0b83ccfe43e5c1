// The local backend: an embedded LocalLambda (concurrency = -j) running the real worker,
// a function whose package is a launcher script that execs `bootstrap` in place (no copy), a
// LambdaInvoker on the driver's IoLoop, and a DirectoryObjectStore under STATE_ROOT/store.
//
// The worker binary is BackendConfig::worker when set (a program that is its own worker,
// parallelagram/executor.h), else `bootstrap` next to the running parallelagram executable
// (found via /proc/self/exe), or the file named by the environment variable PG_BOOTSTRAP.
// Errors (one line each, naming what to do): the bootstrap is missing, the service cannot
// start, CreateFunction fails.
// Thread-safety: create and use on the loop thread; the LocalLambda runs its own thread.
#pragma once

#include <memory>
#include <string>

#include "driver/backend.h"
#include "http/io_loop.h"

namespace parallelagram::driver {

// The bootstrap to ship: $PG_BOOTSTRAP, else `bootstrap` beside /proc/self/exe.
Result<std::string> FindBootstrap();

Result<std::unique_ptr<Backend>> StartLocalBackend(IoLoop& loop, const BackendConfig& config);

}  // namespace parallelagram::driver
