#include "driver/result_retrieval.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace parallelagram::driver {

namespace fs = std::filesystem;

bool ResultRetrieval::WasCut(const TaskResult& r) const {
  const uint64_t max_kept =
      static_cast<uint64_t>(settings_.max_output > 0 ? settings_.max_output : int64_t{1} << 30);
  auto cut = [max_kept](const std::string& data, bool truncated, uint64_t bytes) {
    return truncated && data.size() < std::min(bytes, max_kept);
  };
  return cut(r.stdout_data, r.stdout_truncated, r.stdout_bytes) ||
         cut(r.stderr_data, r.stderr_truncated, r.stderr_bytes);
}

void ResultRetrieval::DeleteObjectsOf(const TaskRecord& a) {
  const TaskResult& r = a.result;
  if (r.outcome == Outcome::kTransport) may_leave_objects_ = true;
  for (const ReturnedFile& f : r.returned) {
    if (!f.missing && !f.uri.empty()) (void)store_.Delete(f.uri);
  }
  if (!settings_.async && a.invocation > 0 && WasCut(r)) {
    (void)store_.Delete(ResultUri(a.seq, a.invocation));
  }
}

std::string ResultRetrieval::FetchFullResult(TaskRecord& rec, const std::string& result_uri) {
  TaskResult& r = rec.result;
  if (!WasCut(r)) return "";
  if (settings_.no_download) return result_uri;
  std::string tmp = state_.dir() + "/output/.result" + std::to_string(rec.seq);
  Status s = store_.GetFile(result_uri, tmp);
  if (!s.ok()) {
    report_(s.WithContext("task " + std::to_string(rec.seq) +
                          ": its full output (over Lambda's 6 MB response) could not be "
                          "fetched, so it is shown cut"));
    return "";
  }
  {
    std::ifstream f(tmp, std::ios::binary);
    try {
      auto full = TaskResultFromJson(nlohmann::json::parse(f));
      if (full.ok()) {
        r.stdout_data = std::move(full->stdout_data);
        r.stderr_data = std::move(full->stderr_data);
        r.stdout_truncated = full->stdout_truncated;
        r.stderr_truncated = full->stderr_truncated;
      } else {
        report_(Status::ProtocolError("task " + std::to_string(rec.seq) +
                                      ": the stored full result is not a task result (" +
                                      full.status().message() + "), so it is shown cut"));
      }
    } catch (const std::exception&) {
      report_(Status::ProtocolError("task " + std::to_string(rec.seq) +
                                    ": the stored full result is not JSON, so it is shown cut"));
    }
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  (void)store_.Delete(result_uri);
  return "";
}

void ResultRetrieval::BringBack(const TaskRecord& rec, FinishedTask& ft) {
  for (const ReturnedFile& r : rec.result.returned) {
    if (r.missing || r.uri.empty()) continue;
    if (settings_.no_download) {
      ft.returned.emplace_back(r.path, r.uri);
      continue;
    }
    std::string dest = results_ ? results_->TaskDir(rec.seq) + "/" + r.path : r.path;
    Status s = store_.GetFile(r.uri, dest);
    if (s.ok()) {
      ft.returned.emplace_back(r.path, dest);
      (void)store_.Delete(r.uri);
    } else {
      report_(s.WithContext("--return " + r.path + " of task " + std::to_string(rec.seq)));
    }
  }
}

void SweepJobObjects(ObjectStore& store, const std::string& job_id) {
  for (const char* sub : {"/results/", "/out/"}) {
    auto objs = store.List("jobs/" + job_id + sub);
    if (!objs.ok()) continue;
    for (const StoredObject& obj : *objs) (void)store.Delete(store.Uri(obj.key));
  }
}

}  // namespace parallelagram::driver
