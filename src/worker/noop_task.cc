#include "worker/noop_task.h"

namespace parallelagram {

Result<TaskResult> NoopTaskHandler::Run(const TaskEvent& event, const InvocationContext& ctx) {
  (void)ctx;
  TaskResult r;
  r.outcome = Outcome::kSucceeded;
  r.exit_code = 0;
  r.stdout_data = event.stdin_data;
  r.stdout_bytes = event.stdin_data.size();
  return r;
}

std::unique_ptr<TaskHandler> MakeNoopHandler() { return std::make_unique<NoopTaskHandler>(); }

}  // namespace parallelagram
