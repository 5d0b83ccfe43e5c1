#include "parallelagram/task.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/utf8.h"

namespace parallelagram {
namespace {

using json = nlohmann::json;

constexpr const char* kOutcomeNames[] = {"succeeded", "failed",    "timed_out", "out_of_memory",
                                         "crashed",   "throttled", "transport", "staging_error"};

// Bytes go out as text when they are valid UTF-8, else as base64 in `<name>_b64`.
void PutBytes(json& j, const char* name, const std::string& bytes) {
  if (IsValidUtf8(bytes)) {
    j[name] = bytes;
  } else {
    j[name] = nullptr;
    j[std::string(name) + "_b64"] = Base64Encode(bytes);
  }
}

// One lookup per field (the object's comparator takes a string_view).
const json* Field(const json& j, std::string_view name) {
  auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

Result<std::string> GetBytes(const json& j, const char* name) {
  const std::string b64 = std::string(name) + "_b64";
  if (const json* f = Field(j, b64); f != nullptr && f->is_string()) {
    auto d = Base64Decode(f->get_ref<const std::string&>());
    if (!d) return Status::InvalidArgument(std::string("field '") + b64 + "' is not valid base64");
    return *d;
  }
  const json* f = Field(j, name);
  if (f == nullptr || f->is_null()) return std::string();
  if (!f->is_string())
    return Status::InvalidArgument(std::string("field '") + name + "' must be a string");
  return f->get<std::string>();
}

template <typename T>
Status GetOpt(const json& j, const char* name, T& out) {
  const json* f = Field(j, name);
  if (f == nullptr || f->is_null()) return Status::Ok();
  try {
    out = f->get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(std::string("field '") + name + "' has the wrong type");
  }
  return Status::Ok();
}

// A list of words (argv, file names: any bytes) as `name`, plus, when one of them is not UTF-8
// (it would reach the worker with U+FFFD in it), all of them as base64 in `<name>_b64`, which
// a reader prefers.
void PutWords(json& j, const char* name, const std::vector<std::string>& words) {
  j[name] = words;
  if (!std::all_of(words.begin(), words.end(),
                   [](const std::string& w) { return IsValidUtf8(w); })) {
    json b = json::array();
    for (const auto& w : words) b.push_back(Base64Encode(w));
    j[std::string(name) + "_b64"] = std::move(b);
  }
}

Status GetWords(const json& j, const char* name, std::vector<std::string>& out) {
  PG_RETURN_IF_ERROR(GetOpt(j, name, out));
  const std::string b64_name = std::string(name) + "_b64";
  const json* b64 = Field(j, b64_name);
  if (b64 == nullptr || !b64->is_array()) return Status::Ok();
  std::vector<std::string> words;
  for (const auto& w : *b64) {
    auto d = w.is_string() ? Base64Decode(w.get<std::string>()) : std::nullopt;
    if (!d) return Status::InvalidArgument("field '" + b64_name + "' must hold base64 strings");
    words.push_back(std::move(*d));
  }
  out = std::move(words);
  return Status::Ok();
}

}  // namespace

const char* OutcomeName(Outcome o) { return kOutcomeNames[static_cast<int>(o)]; }

std::optional<Outcome> ParseOutcome(const std::string& name) {
  for (int i = 0; i < 8; ++i) {
    if (name == kOutcomeNames[i]) return static_cast<Outcome>(i);
  }
  return std::nullopt;
}

json TaskEventToJson(const TaskEvent& e) {
  json j;
  j["v"] = e.v;
  if (!e.task_id.empty()) j["task_id"] = e.task_id;
  if (e.kind != "process") j["kind"] = e.kind;
  PutWords(j, "argv", e.argv);
  if (!e.function.empty()) j["function"] = e.function;
  if (e.shell) j["shell"] = true;
  if (!e.env.empty()) j["env"] = e.env;
  if (!e.stdin_data.empty()) PutBytes(j, "stdin", e.stdin_data);
  if (!e.stdin_files.empty()) PutWords(j, "stdin_files", e.stdin_files);
  if (!e.cwd.empty()) j["cwd"] = e.cwd;
  if (e.timeout_ms > 0) j["timeout_ms"] = e.timeout_ms;
  j["max_output_bytes"] = e.max_output_bytes;
  if (!e.files.empty()) {
    json fs = json::array();
    for (const auto& f : e.files) {
      json fj = {{"sha256", f.sha256}, {"size", f.size}};
      PutBytes(fj, "path", f.path);
      PutBytes(fj, "uri", f.uri);  // a URI holds a file name too  // a file name need not be UTF-8
      if (f.executable) fj["executable"] = true;
      if (f.cache) fj["cache"] = true;
      if (f.offset) fj["offset"] = *f.offset;
      fs.push_back(std::move(fj));
    }
    j["files"] = std::move(fs);
  }
  if (!e.returns.empty()) PutWords(j, "returns", e.returns);
  if (!e.output_uri.empty()) j["output_uri"] = e.output_uri;
  if (!e.result_uri.empty()) j["result_uri"] = e.result_uri;
  if (e.result_spill_only) j["result_spill_only"] = true;
  if (!e.event_uri.empty()) j["event_uri"] = e.event_uri;
  if (!e.live_output.empty()) j["live_output"] = e.live_output;
  return j;
}

size_t TaskEventJsonBound(const TaskEvent& e) {
  // A string's byte becomes at most 6 ("\u001f"; a byte that is not UTF-8 becomes U+FFFD,
  // 3 bytes); a base64 copy (argv_b64, stdin_b64) is 4 bytes per 3, rounded up.
  auto text = [](const std::string& s) { return 3 + 6 * s.size(); };
  auto b64 = [](const std::string& s) { return 3 + 4 * ((s.size() + 2) / 3); };
  size_t n = 512;  // the envelope's keys, punctuation, numbers and booleans
  for (const std::string* s : {&e.task_id, &e.kind, &e.function, &e.cwd, &e.output_uri,
                               &e.result_uri, &e.event_uri, &e.live_output}) {
    n += text(*s);
  }
  for (const auto& w : e.argv) n += text(w) + b64(w);
  for (const auto& [k, v] : e.env) n += text(k) + text(v) + 1;
  n += text(e.stdin_data) + b64(e.stdin_data) + 64;
  for (const auto& p : e.stdin_files) n += text(p) + b64(p);
  for (const auto& f : e.files)
    n += 128 + text(f.path) + b64(f.path) + text(f.uri) + b64(f.uri) + text(f.sha256);
  for (const auto& r : e.returns) n += text(r) + b64(r);
  return n;
}

Result<TaskEvent> TaskEventFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("the task event must be a JSON object");
  TaskEvent e;
  PG_RETURN_IF_ERROR(GetOpt(j, "v", e.v));
  if (e.v > kProtocolVersion) {
    return Status::InvalidArgument("task event version " + std::to_string(e.v) +
                                   " is newer than this worker's (" +
                                   std::to_string(kProtocolVersion) + "); redeploy the worker");
  }
  PG_RETURN_IF_ERROR(GetOpt(j, "task_id", e.task_id));
  PG_RETURN_IF_ERROR(GetOpt(j, "kind", e.kind));
  PG_RETURN_IF_ERROR(GetWords(j, "argv", e.argv));
  PG_RETURN_IF_ERROR(GetOpt(j, "function", e.function));
  PG_RETURN_IF_ERROR(GetOpt(j, "shell", e.shell));
  PG_RETURN_IF_ERROR(GetOpt(j, "env", e.env));
  PG_ASSIGN_OR_RETURN(e.stdin_data, GetBytes(j, "stdin"));
  PG_RETURN_IF_ERROR(GetWords(j, "stdin_files", e.stdin_files));
  PG_RETURN_IF_ERROR(GetOpt(j, "cwd", e.cwd));
  PG_RETURN_IF_ERROR(GetOpt(j, "timeout_ms", e.timeout_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "max_output_bytes", e.max_output_bytes));
  if (const json* files = Field(j, "files"); files != nullptr && files->is_array()) {
    for (const auto& fj : *files) {
      StagedFile f;
      PG_ASSIGN_OR_RETURN(f.path, GetBytes(fj, "path"));
      PG_ASSIGN_OR_RETURN(f.uri, GetBytes(fj, "uri"));
      PG_RETURN_IF_ERROR(GetOpt(fj, "sha256", f.sha256));
      PG_RETURN_IF_ERROR(GetOpt(fj, "size", f.size));
      PG_RETURN_IF_ERROR(GetOpt(fj, "executable", f.executable));
      PG_RETURN_IF_ERROR(GetOpt(fj, "cache", f.cache));
      if (const json* off = Field(fj, "offset"); off != nullptr && !off->is_null()) {
        if (!off->is_number_unsigned()) {
          return Status::InvalidArgument("'files[].offset' must be a non-negative integer");
        }
        f.offset = off->get<uint64_t>();
      }
      e.files.push_back(std::move(f));
    }
  }
  PG_RETURN_IF_ERROR(GetWords(j, "returns", e.returns));
  PG_RETURN_IF_ERROR(GetOpt(j, "output_uri", e.output_uri));
  PG_RETURN_IF_ERROR(GetOpt(j, "result_uri", e.result_uri));
  PG_RETURN_IF_ERROR(GetOpt(j, "result_spill_only", e.result_spill_only));
  PG_RETURN_IF_ERROR(GetOpt(j, "event_uri", e.event_uri));
  PG_RETURN_IF_ERROR(GetOpt(j, "live_output", e.live_output));
  if (e.kind == "process" && e.argv.empty() && e.event_uri.empty()) {
    return Status::InvalidArgument(
        "the task event has no 'argv': give the program and its arguments, e.g. "
        "{\"argv\":[\"echo\",\"hi\"]}");
  }
  if (e.kind == "function" && e.function.empty() && e.event_uri.empty()) {
    return Status::InvalidArgument(
        "the task event of kind 'function' has no 'function': name the registered function");
  }
  return e;
}

json TaskResultToJson(const TaskResult& r) {
  json j;
  j["v"] = r.v;
  if (!r.task_id.empty()) j["task_id"] = r.task_id;
  j["outcome"] = OutcomeName(r.outcome);
  j["exit_code"] = r.exit_code ? json(*r.exit_code) : json(nullptr);
  j["signal"] = r.signal ? json(*r.signal) : json(nullptr);
  PutBytes(j, "stdout", r.stdout_data);
  PutBytes(j, "stderr", r.stderr_data);
  j["stdout_truncated"] = r.stdout_truncated;
  j["stderr_truncated"] = r.stderr_truncated;
  j["stdout_bytes"] = r.stdout_bytes;
  j["stderr_bytes"] = r.stderr_bytes;
  if (!r.stdout_uri.empty()) j["stdout_uri"] = r.stdout_uri;
  if (!r.stderr_uri.empty()) j["stderr_uri"] = r.stderr_uri;
  j["wall_ms"] = r.wall_ms;
  j["cpu_user_ms"] = r.cpu_user_ms;
  j["cpu_sys_ms"] = r.cpu_sys_ms;
  j["max_rss_kb"] = r.max_rss_kb;
  j["cold"] = r.cold;
  j["invocation_index"] = r.invocation_index;
  if (!r.env_id.empty()) j["env_id"] = r.env_id;
  if (r.billed_ms > 0 || r.memory_mb > 0) {
    j["billed_ms"] = r.billed_ms;
    if (r.init_ms > 0) j["init_ms"] = r.init_ms;
    j["memory_mb"] = r.memory_mb;
    if (r.billing_estimate) j["billing_estimate"] = true;
  }
  if (r.s3_put_requests > 0) j["s3_put_requests"] = r.s3_put_requests;
  if (r.s3_get_requests > 0) j["s3_get_requests"] = r.s3_get_requests;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.error_type.empty()) j["error_type"] = r.error_type;
  if (!r.returned.empty()) {
    json rs = json::array();
    for (const auto& f : r.returned) {
      json fj = {{"sha256", f.sha256}, {"size", f.size}};
      PutBytes(fj, "path", f.path);
      PutBytes(fj, "uri", f.uri);  // a URI holds a file name too  // a file name need not be UTF-8
      if (f.missing) fj["missing"] = true;
      rs.push_back(std::move(fj));
    }
    j["returned"] = std::move(rs);
  }
  if (!r.log_tail.empty()) j["log_tail"] = r.log_tail;
  return j;
}

Result<TaskResult> TaskResultFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("the task result must be a JSON object");
  TaskResult r;
  PG_RETURN_IF_ERROR(GetOpt(j, "v", r.v));
  PG_RETURN_IF_ERROR(GetOpt(j, "task_id", r.task_id));
  std::string outcome;
  PG_RETURN_IF_ERROR(GetOpt(j, "outcome", outcome));
  auto o = ParseOutcome(outcome);
  if (!o) return Status::InvalidArgument("task result has unknown outcome '" + outcome + "'");
  r.outcome = *o;
  if (const json* f = Field(j, "exit_code"); f != nullptr && f->is_number_integer())
    r.exit_code = f->get<int>();
  if (const json* f = Field(j, "signal"); f != nullptr && f->is_number_integer())
    r.signal = f->get<int>();
  PG_ASSIGN_OR_RETURN(r.stdout_data, GetBytes(j, "stdout"));
  PG_ASSIGN_OR_RETURN(r.stderr_data, GetBytes(j, "stderr"));
  PG_RETURN_IF_ERROR(GetOpt(j, "stdout_truncated", r.stdout_truncated));
  PG_RETURN_IF_ERROR(GetOpt(j, "stderr_truncated", r.stderr_truncated));
  PG_RETURN_IF_ERROR(GetOpt(j, "stdout_bytes", r.stdout_bytes));
  PG_RETURN_IF_ERROR(GetOpt(j, "stderr_bytes", r.stderr_bytes));
  PG_RETURN_IF_ERROR(GetOpt(j, "stdout_uri", r.stdout_uri));
  PG_RETURN_IF_ERROR(GetOpt(j, "stderr_uri", r.stderr_uri));
  PG_RETURN_IF_ERROR(GetOpt(j, "wall_ms", r.wall_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "cpu_user_ms", r.cpu_user_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "cpu_sys_ms", r.cpu_sys_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "max_rss_kb", r.max_rss_kb));
  PG_RETURN_IF_ERROR(GetOpt(j, "cold", r.cold));
  PG_RETURN_IF_ERROR(GetOpt(j, "invocation_index", r.invocation_index));
  PG_RETURN_IF_ERROR(GetOpt(j, "env_id", r.env_id));
  PG_RETURN_IF_ERROR(GetOpt(j, "billed_ms", r.billed_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "init_ms", r.init_ms));
  PG_RETURN_IF_ERROR(GetOpt(j, "memory_mb", r.memory_mb));
  PG_RETURN_IF_ERROR(GetOpt(j, "billing_estimate", r.billing_estimate));
  PG_RETURN_IF_ERROR(GetOpt(j, "s3_put_requests", r.s3_put_requests));
  PG_RETURN_IF_ERROR(GetOpt(j, "s3_get_requests", r.s3_get_requests));
  PG_RETURN_IF_ERROR(GetOpt(j, "error", r.error));
  PG_RETURN_IF_ERROR(GetOpt(j, "error_type", r.error_type));
  if (const json* returned = Field(j, "returned"); returned != nullptr && returned->is_array()) {
    for (const auto& fj : *returned) {
      ReturnedFile f;
      PG_ASSIGN_OR_RETURN(f.path, GetBytes(fj, "path"));
      PG_ASSIGN_OR_RETURN(f.uri, GetBytes(fj, "uri"));
      PG_RETURN_IF_ERROR(GetOpt(fj, "sha256", f.sha256));
      PG_RETURN_IF_ERROR(GetOpt(fj, "size", f.size));
      PG_RETURN_IF_ERROR(GetOpt(fj, "missing", f.missing));
      r.returned.push_back(std::move(f));
    }
  }
  PG_RETURN_IF_ERROR(GetOpt(j, "log_tail", r.log_tail));
  return r;
}

}  // namespace parallelagram
