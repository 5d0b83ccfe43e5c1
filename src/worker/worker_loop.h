// The runtime loop behind RunWorker(), with its I/O seams exposed for tests.
#pragma once

#include <cstdint>

#include "parallelagram/worker.h"
#include "worker/blob_store.h"
#include "worker/runtime_api.h"
#include "worker/task_registry.h"

namespace parallelagram {

// The environment-wide part of every InvocationContext, read from the process
// environment: AWS_LAMBDA_FUNCTION_MEMORY_SIZE and TMPDIR (default /tmp).
InvocationContext EnvironmentContext();

// Fetches and serves invocations until `max_invocations` have been served (< 0: no
// limit; returns 0) or the Runtime API fails (returns 1 after a line on stderr).
// A failed POST of one reply is logged and the loop goes on.
int ServeInvocations(RuntimeApi& api, TaskRegistry& registry, Blobs& blobs,
                     const InvocationContext& env, int64_t max_invocations = -1);

}  // namespace parallelagram
