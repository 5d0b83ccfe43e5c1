// The Parallelagram worker: a Lambda custom runtime that runs tasks (docs/protocol.md).
//
// The stock `bootstrap` is `int main() { return parallelagram::RunWorker(); }`. A program
// that wants its own C++ functions to be tasks registers a handler per `kind` before
// calling RunWorker():
//
//   class Square : public parallelagram::TaskHandler {
//     Result<TaskResult> Run(const TaskEvent& e, const InvocationContext& ctx) override;
//   };
//   int main() {
//     parallelagram::RegisterTaskHandler("square", std::make_unique<Square>());
//     return parallelagram::RunWorker();
//   }
//
// The built-in kinds "process" (argv as a child process) and "noop" (no process; echoes
// stdin as stdout) are always available unless a handler is registered under that name
// first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram {

// What the Runtime API said about one invocation, plus the environment's counters.
struct InvocationContext {
  std::string request_id;            // Lambda-Runtime-Aws-Request-Id
  int64_t deadline_epoch_ms = 0;     // Lambda-Runtime-Deadline-Ms; 0 when not given
  std::string invoked_function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;              // Lambda-Runtime-Trace-Id
  bool cold = false;                 // first invocation of this execution environment
  int64_t invocation_index = 0;      // 1, 2, ... within this execution environment
  int64_t memory_limit_mb = 0;       // AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0 when unknown
  std::string tmp_dir;               // $TMPDIR, or /tmp
  int64_t received_mono_us = 0;      // when the worker received the event (steady clock)
  int64_t init_ms = 0;               // cold only: process start to the first `next`
  std::string env_id;                // random id of this execution environment (process)
};

// Runs one kind of task. One instance serves every invocation of its kind, one at a
// time, on the worker's single thread (no locking needed).
class TaskHandler {
 public:
  virtual ~TaskHandler() = default;
  // Called once, before the first invocation is fetched. A non-OK Status is reported to
  // POST /runtime/init/error and the worker exits.
  virtual Status Init(const InvocationContext& env) {
    (void)env;
    return Status::Ok();
  }
  // Runs one task. A TaskResult (any outcome) becomes the invocation's response; the
  // worker fills in v, task_id, cold and invocation_index. A non-OK Status becomes an
  // invocation error: InvalidArgument as "Parallelagram.InvalidTaskEvent", anything
  // else as "Parallelagram.HandlerError". Exceptions are caught and reported likewise.
  virtual Result<TaskResult> Run(const TaskEvent& event, const InvocationContext& ctx) = 0;
};

// Registers `handler` for events whose "kind" is `kind`, replacing any earlier one.
// Call before RunWorker(), from one thread.
void RegisterTaskHandler(std::string kind, std::unique_ptr<TaskHandler> handler);

// The runtime loop: reads AWS_LAMBDA_RUNTIME_API, then forever fetches the next
// invocation, dispatches it by kind and posts the response or error. Returns non-zero
// (after a one-line message on stderr) when it cannot start or the Runtime API goes away.
int RunWorker();

}  // namespace parallelagram
