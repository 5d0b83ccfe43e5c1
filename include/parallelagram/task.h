// The task protocol between the driver and the worker (docs/protocol.md).
//
// A TaskEvent is the JSON payload of one Lambda invocation; a TaskResult is the
// JSON the worker returns. Both carry a version field `v` (kProtocolVersion).
// Only `argv` is required in an event: {"argv":["echo","hi"]} is a whole task.
//
// `kind` selects the worker's task handler: "process" (the default) runs argv
// as a process; "function" (a program's own worker, parallelagram/executor.h) runs the
// registered C++ function `function` with its serialised arguments in `stdin`. The worker
// dispatches on `kind` through a registry, never assuming every task is a process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram {

inline constexpr int kProtocolVersion = 1;

// Lambda's payload limits, the one definition every layer uses: an event over its limit is
// stored and named by `event_uri`; a result over the sync limit is cut (and stored whole at
// `result_uri`). Over a limit Lambda answers 413 RequestTooLargeException.
// RequestResponse (sync) invoke: request and response, 6 MB.
inline constexpr size_t kSyncPayloadLimit = 6 * 1024 * 1024;
// Event (async) invoke: the request, 1 MB (256 KB in older AWS documentation).
inline constexpr size_t kEventPayloadLimit = 1024 * 1024;

// How a task (one attempt of it) ended. Drives the driver's retry policy.
enum class Outcome {
  kSucceeded,     // ran and exited 0
  kFailed,        // ran and exited non-zero (or the program could not be started)
  kTimedOut,      // killed at its timeout (task's or the function's)
  kOutOfMemory,   // killed by the kernel OOM killer or over the function's memory
  kCrashed,       // killed by a signal, or the worker/environment died (function error)
  kThrottled,     // the invoke was refused with 429: the task did not run
  kTransport,     // the invoke did not complete (connection, 5xx): may or may not have run
  kStagingError,  // inputs could not be fetched or outputs could not be stored
};

const char* OutcomeName(Outcome o);  // "succeeded", "failed", "timed_out", ...
std::optional<Outcome> ParseOutcome(const std::string& name);

// A file the worker places in the task's scratch directory before it runs.
struct StagedFile {
  std::string path;    // relative path inside the scratch directory
  std::string uri;     // where to fetch it: file:///..., s3://bucket/key
  std::string sha256;  // hex digest of the content, verified after fetching
  uint64_t size = 0;
  bool executable = false;
  bool cache = false;  // a basefile: keep in the environment's cache across invocations
  // Set: the file is bytes [offset, offset + size) of the object at `uri` (a --pipe-part
  // block of a bigger file, fetched with a ranged read), not the whole object.
  std::optional<uint64_t> offset;
};

struct TaskEvent {
  int v = kProtocolVersion;
  std::string task_id;  // driver's id, echoed in the result
  std::string kind = "process";
  std::vector<std::string> argv;           // kind "process": program and arguments
  std::string function;                    // kind "function": the registered C++ function
  bool shell = false;                      // run argv[0] with /bin/sh -c, rest as $0.. args
  std::map<std::string, std::string> env;  // added to the worker's environment
  std::string stdin_data;                  // bytes fed to stdin (then closed)
  // Set: stdin is these files of `files` (relative paths), one after the other, instead of
  // stdin_data (a --pipe block and its header: too big for the payload, staged as files).
  std::vector<std::string> stdin_files;
  std::string cwd;                     // relative to the scratch directory; "" = scratch
  int64_t timeout_ms = 0;              // 0: as long as the invocation's deadline allows
  int64_t max_output_bytes = 4 << 20;  // per stream; beyond it output is truncated
  std::vector<StagedFile> files;       // inputs to place before running
  std::vector<std::string> returns;    // relative paths to bring back after running
  std::string output_uri;              // where returned files/spilled output go (prefix)
  std::string result_uri;              // write the full result JSON here
  // Sync mode: write the result to result_uri only when it does not fit the response
  // (Lambda's 6 MB limit), so a task costs no object-store request. False (async mode): the
  // result object is how the driver learns the result, so it is always written.
  bool result_spill_only = false;
  // An event too big for Lambda's payload limit is stored whole at event_uri, and the
  // invocation carries only task_id, event_uri and the result fields; the worker fetches
  // the stored event, whose other fields it uses (the envelope's result fields win).
  std::string event_uri;
  // Local workers only (the driver's machine): a path prefix; the worker appends what the
  // process writes to PREFIX.stdout and PREFIX.stderr as it reads it (files the driver made),
  // for the driver's --line-buffer / --ungroup. The result still carries the whole output.
  std::string live_output;
};

struct ReturnedFile {
  std::string path;  // relative path in the scratch directory
  std::string uri;   // where the worker stored it
  std::string sha256;
  uint64_t size = 0;
  bool missing = false;  // the task did not produce it
};

struct TaskResult {
  int v = kProtocolVersion;
  std::string task_id;
  Outcome outcome = Outcome::kSucceeded;
  std::optional<int> exit_code;  // set when the process exited
  std::optional<int> signal;     // set when the process was killed by a signal
  std::string stdout_data;       // raw bytes; encoded as text or base64 in JSON
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;  // total bytes the task wrote, including truncated ones
  uint64_t stderr_bytes = 0;
  std::string stdout_uri;  // set when stdout spilled to the object store
  std::string stderr_uri;
  int64_t wall_ms = 0;
  int64_t cpu_user_ms = 0;
  int64_t cpu_sys_ms = 0;
  int64_t max_rss_kb = 0;
  bool cold = false;             // first invocation of this execution environment
  int64_t invocation_index = 0;  // 1 for the environment's first invocation
  std::string env_id;            // the execution environment's id: random, one per worker process
  // What the invocation was billed: Lambda's REPORT line (sync mode, read by the driver from
  // the log tail), else what the worker measured of its own invocation (billing_estimate).
  // billed_ms includes the init phase on a cold start (init_ms), as for custom runtimes.
  int64_t billed_ms = 0;
  int64_t init_ms = 0;
  int64_t memory_mb = 0;  // the function's memory size
  bool billing_estimate = false;
  // S3 requests the worker sent for this invocation (staged files fetched, outputs spilled,
  // returned files and the result object stored), by S3's price classes (aws/s3_requests.h).
  int64_t s3_put_requests = 0;
  int64_t s3_get_requests = 0;
  std::string error;       // why it could not run / how it ended, for humans
  std::string error_type;  // kind "function": the C++ type of the exception it threw
  std::vector<ReturnedFile> returned;
  std::string log_tail;        // driver side: the Lambda log tail, if any
  int64_t retry_after_ms = 0;  // driver side, not serialised: a 429/5xx's Retry-After hint
};

// JSON codecs. Parse functions return InvalidArgument with the offending field
// named when the JSON is not a valid event/result.
nlohmann::json TaskEventToJson(const TaskEvent& e);
Result<TaskEvent> TaskEventFromJson(const nlohmann::json& j);
// An upper bound on the size of TaskEventToJson(e) dumped compactly (any string
// handling), computed without serialising: a sender checks a payload limit with it
// and serialises an event once, when it sends it.
size_t TaskEventJsonBound(const TaskEvent& e);
nlohmann::json TaskResultToJson(const TaskResult& r);
Result<TaskResult> TaskResultFromJson(const nlohmann::json& j);

}  // namespace parallelagram
