#include "worker/task_registry.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/utf8.h"
#include "worker/s3_blobs.h"

namespace parallelagram {

using json = nlohmann::json;

namespace {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Reply Error(const char* type, std::string message) { return Reply{true, type, std::move(message)}; }

// Drops bytes from the end of `s` so that it is `keep` long, backing off to a UTF-8
// character boundary so that text stays text.
void CutTo(std::string& s, size_t keep) {
  if (keep >= s.size()) return;
  while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) --keep;
  s.resize(keep);
}

}  // namespace

void TaskRegistry::Register(std::string kind, std::unique_ptr<TaskHandler> handler) {
  handlers_[std::move(kind)] = std::move(handler);
}

TaskHandler* TaskRegistry::Find(const std::string& kind) const {
  auto it = handlers_.find(kind);
  return it == handlers_.end() ? nullptr : it->second.get();
}

std::string TaskRegistry::KindsList() const {
  std::string out;
  for (const auto& [k, h] : handlers_) out += (out.empty() ? "" : ", ") + k;
  return out;
}

Status TaskRegistry::InitAll(const InvocationContext& env) {
  for (const auto& [k, h] : handlers_) {
    Status s;
    try {
      s = h->Init(env);
    } catch (const std::exception& e) {
      s = Status::Internal(std::string("exception: ") + e.what());
    }
    if (!s.ok()) return s.WithContext("task kind '" + k + "' cannot start");
  }
  return Status::Ok();
}

TaskRegistry& GlobalTaskRegistry() {
  static TaskRegistry registry;
  return registry;
}

void RegisterTaskHandler(std::string kind, std::unique_ptr<TaskHandler> handler) {
  GlobalTaskRegistry().Register(std::move(kind), std::move(handler));
}

std::string FitResultJson(TaskResult& r, size_t limit) {
  std::string out = Dump(TaskResultToJson(r));
  for (int i = 0; i < 64 && out.size() > limit; ++i) {
    std::string& big = r.stdout_data.size() >= r.stderr_data.size() ? r.stdout_data : r.stderr_data;
    if (big.empty()) break;  // nothing left to cut: the caller's other fields are too big
    (&big == &r.stdout_data ? r.stdout_truncated : r.stderr_truncated) = true;
    // Encoded bytes per raw byte of this stream (JSON escapes, or base64), to cut enough
    // raw bytes in one step without cutting much more than needed.
    double enc =
        IsValidUtf8(big) ? static_cast<double>(Dump(json(big)).size()) : big.size() * 4.0 / 3;
    double ratio = std::max(1.0, enc / static_cast<double>(big.size()));
    size_t cut = static_cast<size_t>(static_cast<double>(out.size() - limit + 64) / ratio) + 1;
    CutTo(big, big.size() > cut ? big.size() - cut : 0);
    out = Dump(TaskResultToJson(r));
  }
  return out;
}

Reply RunTaskEvent(TaskRegistry& registry, Blobs& blobs, std::string_view event_body,
                   const InvocationContext& ctx) {
  json j;
  try {
    j = json::parse(event_body);
  } catch (const json::parse_error& e) {
    return Error(kErrInvalidTaskEvent,
                 "the task event is not valid JSON (error at byte " + std::to_string(e.byte) +
                     "); send a JSON object such as {\"argv\":[\"echo\",\"hi\"]}");
  }
  auto event = TaskEventFromJson(j);
  if (!event.ok()) return Error(kErrInvalidTaskEvent, event.status().message());
  if (!event->event_uri.empty()) {
    // An oversized event, stored by the driver: fetch it; the envelope's fields win.
    char tmpl[] = "/tmp/pg-event-XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd < 0) return Error(kErrEventFetch, "cannot create a temporary file in /tmp");
    ::close(fd);
    Status s = blobs.Fetch(event->event_uri, tmpl);
    std::ostringstream body;
    if (s.ok()) {
      std::ifstream in(tmpl, std::ios::binary);
      body << in.rdbuf();
    }
    ::unlink(tmpl);
    if (!s.ok()) {
      return Error(kErrEventFetch,
                   "cannot fetch the task event from " + event->event_uri + ": " + s.message());
    }
    json full;
    try {
      full = json::parse(body.str());
    } catch (const json::parse_error&) {
      return Error(kErrInvalidTaskEvent,
                   "the stored task event at " + event->event_uri + " is not valid JSON");
    }
    auto stored = TaskEventFromJson(full);
    if (!stored.ok() || !stored->event_uri.empty()) {
      return Error(
          kErrInvalidTaskEvent,
          "the stored task event at " + event->event_uri + " is not valid: " +
              (stored.ok() ? "it refers to another stored event" : stored.status().message()));
    }
    if (!event->task_id.empty()) stored->task_id = event->task_id;
    if (!event->result_uri.empty()) stored->result_uri = event->result_uri;
    stored->result_spill_only = event->result_spill_only;
    if (!event->live_output.empty()) stored->live_output = event->live_output;
    event = std::move(stored);
  }
  TaskHandler* handler = registry.Find(event->kind);
  if (!handler) {
    return Error(kErrUnknownTaskKind, "this worker has no handler for task kind '" + event->kind +
                                          "' (it knows: " + registry.KindsList() + ")");
  }
  Result<TaskResult> result = Status::Internal("not run");
  const aws::S3RequestCounts s3_before = S3BlobRequestsSent();
  try {
    result = handler->Run(*event, ctx);
  } catch (const std::exception& e) {
    return Error(kErrHandlerError, "the '" + event->kind + "' handler threw: " + e.what());
  } catch (...) {
    return Error(kErrHandlerError,
                 "the '" + event->kind + "' handler threw a non-standard exception");
  }
  if (!result.ok()) {
    const Status& s = result.status();
    return Error(s.code() == StatusCode::kInvalidArgument ? kErrInvalidTaskEvent : kErrHandlerError,
                 s.message());
  }
  TaskResult& r = result.value();
  r.v = kProtocolVersion;
  if (r.task_id.empty()) r.task_id = event->task_id;
  r.cold = ctx.cold;
  r.invocation_index = ctx.invocation_index;
  r.env_id = ctx.env_id;
  if (ctx.received_mono_us > 0) {  // what this invocation will be billed, as far as we can see
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    r.billed_ms = (std::max<int64_t>(0, now_us - ctx.received_mono_us) + 999) / 1000 + ctx.init_ms;
    r.init_ms = ctx.init_ms;
    r.memory_mb = ctx.memory_limit_mb;
    r.billing_estimate = true;
  }
  // The S3 requests this invocation made, and the result object's PUT below (known now unless
  // it is stored only when too big for the reply, a PUT then not counted).
  const aws::S3RequestCounts s3_after = S3BlobRequestsSent();
  r.s3_put_requests = s3_after.put_class - s3_before.put_class;
  r.s3_get_requests = s3_after.get_class - s3_before.get_class;
  if (!event->result_uri.empty() && !event->result_spill_only &&
      event->result_uri.rfind("s3://", 0) == 0) {
    ++r.s3_put_requests;
  }
  std::string full = Dump(TaskResultToJson(r));
  if (!event->result_uri.empty() &&
      (!event->result_spill_only || full.size() > kSyncPayloadLimit)) {
    Status s = blobs.PutBytes(full, event->result_uri);
    if (!s.ok()) {
      return Error(kErrResultStore,
                   "cannot store the result at " + event->result_uri + ": " + s.message());
    }
  }
  if (full.size() <= kSyncPayloadLimit) return Reply{false, "", std::move(full)};
  return Reply{false, "", FitResultJson(r, kSyncPayloadLimit)};
}

}  // namespace parallelagram
