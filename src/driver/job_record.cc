#include "driver/job_record.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/base64.h"
#include "common/json_text.h"
#include "common/utf8.h"
#include "driver/journal.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

void PutOutput(nlohmann::json& j, const char* name, const std::string& data) {
  if (IsValidUtf8(data)) {
    j[name] = data;
  } else {
    j[std::string(name) + "_b64"] = Base64Encode(data);
  }
}

// The command as text (U+FFFD for bytes that are not UTF-8, for reading) and, then, its bytes
// in command_b64 (lossless).
void PutCommand(nlohmann::json& j, const std::string& command) {
  j["command"] = command;
  if (!IsValidUtf8(command)) j["command_b64"] = Base64Encode(command);
}

}  // namespace

nlohmann::json ArgsJson(const std::vector<std::string>& values) { return BytesArrayToJson(values); }

nlohmann::json ResultLine(const std::string& job_id, const FinishedTask& t,
                          const std::string& stdout_file, const std::string& stderr_file) {
  const TaskRecord& rec = *t.rec;
  const TaskResult& r = rec.result;
  nlohmann::json j = nlohmann::json::object();
  j["job_id"] = job_id;
  j["seq"] = rec.seq;
  j["args"] = ArgsJson(t.args);
  PutCommand(j, t.command);
  j["outcome"] = OutcomeName(r.outcome);
  j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
  j["signal"] = r.signal ? nlohmann::json(*r.signal) : nlohmann::json(nullptr);
  j["attempts"] = rec.attempt;
  j["invocations"] = rec.invocations;
  if (rec.duplicate) j["duplicate"] = true;
  j["start"] = static_cast<double>(rec.start_epoch_ms) / 1000.0;
  j["runtime_s"] = static_cast<double>(rec.runtime_ms) / 1000.0;
  // Billing: the answering invocation's; cost_usd: every invocation of the task (retries,
  // duplicates) answered by the time it finished.
  if (r.billed_ms > 0 || r.memory_mb > 0) {
    j["billed_ms"] = r.billed_ms;
    j["memory_mb"] = r.memory_mb;
    if (r.init_ms > 0) j["init_ms"] = r.init_ms;
    if (r.billing_estimate) j["billing_estimate"] = true;
  }
  if (r.s3_put_requests > 0) j["s3_put_requests"] = r.s3_put_requests;
  if (r.s3_get_requests > 0) j["s3_get_requests"] = r.s3_get_requests;
  j["cost_usd"] = rec.cost_usd;
  j["stdout_bytes"] = r.stdout_bytes;
  j["stderr_bytes"] = r.stderr_bytes;
  if (r.stdout_truncated) j["stdout_truncated"] = true;
  if (r.stderr_truncated) j["stderr_truncated"] = true;
  if (!r.error.empty()) j["error"] = r.error;
  if (r.outcome != Outcome::kSucceeded && !r.log_tail.empty()) j["log_tail"] = r.log_tail;
  if (!t.returned.empty()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [path, dest] : t.returned) a.push_back({{"path", path}, {"dest", dest}});
    j["returned"] = std::move(a);
  }
  if (stdout_file.empty()) {
    PutOutput(j, "stdout", r.stdout_data);
  } else {
    j["stdout_file"] = stdout_file;
  }
  if (stderr_file.empty()) {
    PutOutput(j, "stderr", r.stderr_data);
  } else {
    j["stderr_file"] = stderr_file;
  }
  return j;
}

Status WriteFileAll(const std::string& path, const std::string& data) {
  std::error_code ec;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IoError("cannot write '" + path + "': " + std::strerror(errno));
  size_t n = data.empty() ? 0 : std::fwrite(data.data(), 1, data.size(), f);
  bool bad = std::fclose(f) != 0 || n != data.size();
  if (bad) return Status::IoError("cannot write '" + path + "' (disk full?)");
  return Status::Ok();
}

Status ResultsDir::Open(const std::string& dir, bool append) {
  dir_ = dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create --results '" + dir + "': " + ec.message());
  std::string path = dir + "/results.jsonl";
  if (append) (void)TruncateTornTail(path);  // a line cut short by a crash
  return jsonl_.Open(path, /*truncate=*/!append);
}

Status ResultsDir::WriteFiles(const FinishedTask& t) {
  const TaskRecord& rec = *t.rec;
  std::string d = TaskDir(rec.seq);
  PG_RETURN_IF_ERROR(WriteFileAll(d + "/stdout", rec.result.stdout_data));
  PG_RETURN_IF_ERROR(WriteFileAll(d + "/stderr", rec.result.stderr_data));
  nlohmann::json full = TaskResultToJson(rec.result);
  full.erase("stdout");
  full.erase("stdout_b64");
  full.erase("stderr");
  full.erase("stderr_b64");
  full["seq"] = rec.seq;
  full["args"] = ArgsJson(t.args);
  PutCommand(full, t.command);
  full["attempts"] = rec.attempt;
  full["slot"] = rec.slot;
  full["start"] = static_cast<double>(rec.start_epoch_ms) / 1000.0;
  full["runtime_s"] = static_cast<double>(rec.runtime_ms) / 1000.0;
  return WriteFileAll(d + "/result.json", DumpLenient(full, 2) + "\n");
}

Status ResultsDir::AppendLines(std::string_view lines) { return jsonl_.Append(lines); }

Status ResultsDir::AlignWithManifest(const std::string& state_dir,
                                     const std::vector<uint8_t>& finished) {
  const std::string path = dir_ + "/results.jsonl";
  auto seq_of = [](std::string_view line) -> int64_t {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) return 0;
    return j["seq"].get<int64_t>();
  };
  auto make = [this](const nlohmann::json& m) {
    nlohmann::json j = m;
    const std::string d = TaskDir(j.value("seq", int64_t{0}));
    if (j.contains("stdout_file")) j["stdout_file"] = d + "/stdout";
    if (j.contains("stderr_file")) j["stderr_file"] = d + "/stderr";
    return JsonLine(j) + "\n";
  };
  jsonl_.Close();
  Status aligned = driver::AlignWithManifest(state_dir, path, "", seq_of, make);
  Status reopened = jsonl_.Open(path, /*truncate=*/false);
  PG_RETURN_IF_ERROR(aligned);
  PG_RETURN_IF_ERROR(reopened);
  std::vector<fs::path> stale;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.size() > 18 || name[0] == '0' ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const auto seq = static_cast<size_t>(std::stoll(name));
    if (seq <= finished.size() && finished[seq - 1] == 0) stale.push_back(e.path());
  }
  for (const fs::path& p : stale) {
    fs::remove_all(p, ec);
    if (ec) return Status::IoError("cannot remove '" + p.string() + "': " + ec.message());
  }
  return Status::Ok();
}

std::string JsonLine(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace parallelagram::driver
