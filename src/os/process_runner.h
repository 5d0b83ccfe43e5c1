// ProcessRunner: runs one child process to completion and captures what it did.
//
// The seam between the "process" task handler and the operating system. The real
// implementation (PosixProcessRunner) uses posix_spawn; tests use FakeProcessRunner
// (process_runner_fake.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::os {

struct ProcessSpec {
  // Program and arguments. argv[0] without a '/' is searched in PATH (the PATH in `env`
  // when set there, else the worker's). With `shell`, runs /bin/sh -c argv[0] argv[1..]
  // (so argv[1] becomes $0 and argv[2..] $1..).
  std::vector<std::string> argv;
  bool shell = false;
  std::map<std::string, std::string> env;  // added to (overriding) the worker's environment
  std::string stdin_data;                  // written to stdin, which is then closed
  std::string stdin_file;  // set: stdin is this file, opened read-only (stdin_data unused)
  std::string cwd;         // absolute directory to run in; "" = inherit
  int64_t timeout_ms = 0;  // <= 0: no timeout
  int64_t max_output_bytes = 4 << 20;  // bytes kept per stream; the rest is counted only
  // When set, the child is not an exec of argv (argv[0] only names it in messages) but a fork
  // of this process that runs in_child() (stdin/stdout/stderr, cwd, env and process group set
  // up as for a program) and exits with its value: a program's own C++ function as a process
  // without loading the program again. The caller must be single-threaded (the worker is).
  std::function<int()> in_child;
  // When set, called with every chunk the child writes, as it is read (`is_stderr` says which
  // stream), before max_output_bytes cuts what is kept: a live copy of the output
  // (--line-buffer). Runs on the calling thread, inside Run().
  std::function<void(bool is_stderr, const char* data, size_t size)> on_output;
};

struct ProcessOutcome {
  // False when the program could not be started (not found, not executable); then
  // exit_code is 127 (not found) or 126 (cannot execute) as a shell would say, and
  // `error` tells why.
  bool started = false;
  std::optional<int> exit_code;  // the process exited
  std::optional<int> signal;     // the process was killed by this signal
  bool timed_out = false;        // we killed its process group at the timeout
  std::string stdout_data;       // the first max_output_bytes bytes
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;  // all bytes written, kept or not
  uint64_t stderr_bytes = 0;
  int64_t wall_us = 0;
  int64_t cpu_user_us = 0;
  int64_t cpu_sys_us = 0;
  int64_t max_rss_kb = 0;
  std::string error;  // why it could not start; empty otherwise
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs `spec` to completion. The process always gets its own process group; when it
  // exits (or at the timeout) whatever is left in that group is killed with SIGKILL.
  // Returns a non-OK Status only when the worker itself failed (pipes, spawn resources);
  // a program that cannot be started is an outcome with started=false.
  // Not thread-safe per instance; blocks the calling thread.
  virtual Result<ProcessOutcome> Run(const ProcessSpec& spec) = 0;
};

// The real runner: posix_spawn (no shell unless asked; fork for ProcessSpec::in_child), pipes
// drained in a poll loop, a pidfd to notice the exit, wait4 for the status and rusage. Constructing
// one sets SIGPIPE to SIG_IGN for the whole process (children get the default back).
class PosixProcessRunner : public ProcessRunner {
 public:
  PosixProcessRunner();
  Result<ProcessOutcome> Run(const ProcessSpec& spec) override;
};

// Where argv0 would be executed from: itself when it contains '/', else the first
// executable regular file named argv0 in the ':'-separated `path`. nullopt if none.
std::optional<std::string> FindInPath(const std::string& argv0, const std::string& path);

}  // namespace parallelagram::os
