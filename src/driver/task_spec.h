// TaskSpec: a task a program describes whole (SubmitQueue, job.h), rather than input values
// for `run`'s command template: a C++ function call (kind "function") or a process with its
// own argv, stdin, files and environment. The job stages `transfer`, brings back `returns`,
// records it in the manifest as `describe`, and otherwise runs it as any other task
// (retries, speculation, spill of oversized events and results).
// Thread-safety: a plain value; the job shares it read-only across threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace parallelagram::driver {

struct TaskSpec {
  std::string kind = "process";            // the worker's handler: "process" or "function"
  std::string function;                    // kind "function": the registered name
  std::vector<std::string> argv;           // kind "process": program and arguments
  std::string stdin_data;                  // a function's serialised arguments; a process's stdin
  std::map<std::string, std::string> env;  // added to the task's environment
  std::vector<std::string> transfer;       // local files placed in the task's directory
  std::vector<std::string> returns;        // relative paths brought back after it ran
  int64_t timeout_ms = 0;                  // 0: the job's --timeout
  std::string describe;                    // the manifest's "command" (and "args" entry)
};

}  // namespace parallelagram::driver
