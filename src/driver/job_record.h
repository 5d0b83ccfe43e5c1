// What is recorded for each finished task: the results manifest line (state dir and
// --results DIR/results.jsonl share it) and the --results per-task directory.
//
// Manifest line (one JSON object, keys in this order):
//   job_id, seq, args, command, outcome, exit_code, signal, attempts (counted against
//   --retries), invocations (all invokes: throttled, transport errors, duplicates), duplicate
//   (true when a speculative duplicate won), start (epoch s), runtime_s, stdout_bytes,
//   stderr_bytes, stdout_truncated, stderr_truncated, error, log_tail (the function's log tail,
//   for a task that did not succeed), returned [{path, dest}], and either stdout/stderr inline (text, or stdout_b64/stderr_b64
//   for bytes that are not UTF-8) when both are small, or stdout_file/stderr_file paths.
//
// --results DIR layout: DIR/<seq>/stdout, DIR/<seq>/stderr, DIR/<seq>/result.json (the
// worker's full result, with the driver's view added), DIR/results.jsonl.
// Errors: IoError naming the path. Thread-safety: not thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "driver/scheduler.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

struct FinishedTask {
  const TaskRecord* rec = nullptr;
  std::vector<std::string> args;
  std::string command;
  std::vector<std::pair<std::string, std::string>> returned;  // (path in task, local dest)
};

// Outputs up to this size (each) are kept inline in the manifest.
inline constexpr size_t kInlineOutputMax = 64 * 1024;

// The manifest line for `t`. `stdout_file`/`stderr_file` are used when the output is too large
// to inline (the caller wrote it there).
nlohmann::json ResultLine(const std::string& job_id, const FinishedTask& t,
                          const std::string& stdout_file, const std::string& stderr_file);

class ResultsDir {
 public:
  ~ResultsDir();
  // Creates DIR and opens DIR/results.jsonl, truncated (or, with `append`, for a resumed job,
  // kept: new lines are added after what is there).
  Status Open(const std::string& dir, bool append = false);
  // Writes DIR/<seq>/{stdout,stderr,result.json} and appends `line` to results.jsonl.
  Status Write(const FinishedTask& t, const nlohmann::json& line);
  std::string TaskDir(int64_t seq) const { return dir_ + "/" + std::to_string(seq); }

 private:
  std::string dir_;
  std::FILE* jsonl_ = nullptr;
};

// `j` as one line of JSON (no newline), invalid UTF-8 in strings replaced (U+FFFD): how
// manifest lines, tasks.jsonl lines and --json events are written.
std::string JsonLine(const nlohmann::json& j);
// A task's input values as JSON: each a string, or {"b64": base64} when it is not UTF-8
// (lossless, as inputs.jsonl). For tasks.jsonl, results.jsonl and --results.
nlohmann::json ArgsJson(const std::vector<std::string>& values);

// Writes `data` to `path` whole (creating parent directories). IoError naming the path.
Status WriteFileAll(const std::string& path, const std::string& data);

}  // namespace parallelagram::driver
