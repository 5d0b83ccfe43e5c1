// NoopTaskHandler: the built-in task kind "noop" (docs/protocol.md). It runs no process:
// the result is `succeeded`, exit code 0, with the event's stdin as stdout. It measures
// the service + worker round trip without a process spawn (bench/run_worker_bench.sh) and
// checks that a deployed worker answers at all. Stateless; runs on the worker's thread.
#pragma once

#include <memory>

#include "parallelagram/worker.h"

namespace parallelagram {

class NoopTaskHandler : public TaskHandler {
 public:
  Result<TaskResult> Run(const TaskEvent& event, const InvocationContext& ctx) override;
};

std::unique_ptr<TaskHandler> MakeNoopHandler();

}  // namespace parallelagram
