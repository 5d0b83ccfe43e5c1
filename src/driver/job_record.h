// What is recorded for each finished task: the results manifest line (state dir and
// --results DIR/results.jsonl share it) and the --results per-task directory.
//
// Manifest line (one JSON object, keys in this order):
//   job_id, seq, args, command, outcome, exit_code, signal, attempts (counted against
//   --retries), invocations (all invokes: throttled, transport errors, duplicates), duplicate
//   (true when a speculative duplicate won), start (epoch s), runtime_s, stdout_bytes,
//   stderr_bytes, stdout_truncated, stderr_truncated, error, log_tail (the function's log tail,
//   for a task that did not succeed), returned [{path, dest}], and either stdout/stderr inline
//   (text, or stdout_b64/stderr_b64 for bytes that are not UTF-8) when both are small, or
//   stdout_file/stderr_file paths.
//
// --results DIR layout: DIR/<seq>/stdout, DIR/<seq>/stderr, DIR/<seq>/result.json (the
// worker's full result, with the driver's view added), DIR/results.jsonl. A task's files are
// written before its manifest line, its DIR/results.jsonl line after it (TaskRecorder), so
// that line is never there for a task the manifest lacks.
// Errors: IoError naming the path. Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver/line_file.h"
#include "driver/scheduler.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

struct FinishedTask {
  const TaskRecord* rec = nullptr;
  std::vector<std::string> args;
  std::string command;
  std::vector<std::pair<std::string, std::string>> returned;  // (path in task, local dest)
  std::string tag;  // --tag/--tagstring: what starts each output line, TAB included ("" none)
  std::string stdout_path;  // --files: the task's stdout file under --results ("" none)
  int64_t stdin_bytes = 0;  // what it was given on stdin (--pipe: its block): --joblog's Send
};

// Outputs up to this size (each) are kept inline in the manifest.
inline constexpr size_t kInlineOutputMax = 64 * 1024;

// The manifest line for `t`. `stdout_file`/`stderr_file` are used when the output is too large
// to inline (the caller wrote it there).
nlohmann::json ResultLine(const std::string& job_id, const FinishedTask& t,
                          const std::string& stdout_file, const std::string& stderr_file);

class ResultsDir {
 public:
  // Creates DIR and opens DIR/results.jsonl, truncated (or, with `append`, for a resumed job,
  // kept: new lines are added after what is there).
  Status Open(const std::string& dir, bool append = false);
  // Writes DIR/<seq>/{stdout,stderr,result.json}.
  Status WriteFiles(const FinishedTask& t);
  // Appends `lines` (whole JSON lines, each ending in '\n') with one write(2).
  Status AppendLines(std::string_view lines);
  std::string TaskDir(int64_t seq) const { return dir_ + "/" + std::to_string(seq); }
  // For a resumed job, before anything is appended: results.jsonl made to hold exactly the
  // tasks of the state manifest in STATE_DIR (AlignWithManifest, state_dir.h; a missing line
  // is the manifest's with its stdout_file/stderr_file moved to DIR/<seq>/), and the
  // DIR/<seq>/ of every task in 1..finished.size() without a manifest line (finished[seq-1] ==
  // 0) removed: what is there is from an attempt that was never recorded.
  Status AlignWithManifest(const std::string& state_dir, const std::vector<uint8_t>& finished);

 private:
  std::string dir_;
  LineFile jsonl_;
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
