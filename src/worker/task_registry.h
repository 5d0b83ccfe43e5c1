// TaskRegistry and RunTaskEvent: from one invocation's event bytes to the reply the worker
// posts (a response JSON or an error type and message). No I/O to the Runtime API here,
// so the whole decision is unit-testable.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "parallelagram/worker.h"
#include "worker/blob_store.h"

namespace parallelagram {

// errorType values the worker posts to .../invocation/{id}/error and /init/error.
inline constexpr char kErrInvalidTaskEvent[] = "Parallelagram.InvalidTaskEvent";
inline constexpr char kErrUnknownTaskKind[] = "Parallelagram.UnknownTaskKind";
inline constexpr char kErrHandlerError[] = "Parallelagram.HandlerError";
inline constexpr char kErrResultStore[] = "Parallelagram.ResultStoreError";
inline constexpr char kErrInit[] = "Parallelagram.InitError";
inline constexpr char kErrEventFetch[] = "Parallelagram.EventFetchError";

// Handlers by kind. Owns them. Not thread-safe: fill it, then serve from one thread.
class TaskRegistry {
 public:
  void Register(std::string kind, std::unique_ptr<TaskHandler> handler);
  TaskHandler* Find(const std::string& kind) const;  // nullptr when unknown
  std::string KindsList() const;                     // "a, b" for messages
  // Calls every handler's Init; the first failure is returned naming the kind.
  Status InitAll(const InvocationContext& env);

 private:
  std::map<std::string, std::unique_ptr<TaskHandler>> handlers_;
};

// The process-wide registry RegisterTaskHandler() fills (created on first use).
TaskRegistry& GlobalTaskRegistry();

struct Reply {
  bool is_error = false;
  std::string error_type;  // when is_error
  std::string body;        // the response JSON, or the error message
};

// Parses `event_body`, runs the handler of its kind and builds the reply. Never throws.
// When the event has a result_uri, the full result JSON is also stored there through
// `blobs` (a failure to store it is a Parallelagram.ResultStoreError reply, so that an
// async invoke is retried). The response is cut to kSyncPayloadLimit (parallelagram/task.h) by
// truncating stdout/stderr (marked truncated) when needed.
Reply RunTaskEvent(TaskRegistry& registry, Blobs& blobs, std::string_view event_body,
                   const InvocationContext& ctx);

// Cuts stdout/stderr of `r` until its JSON fits in `limit` bytes; returns that JSON.
std::string FitResultJson(TaskResult& r, size_t limit);

}  // namespace parallelagram
