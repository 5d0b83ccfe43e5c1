#include "driver/task_recorder.h"

#include <nlohmann/json.hpp>

namespace parallelagram::driver {

using json = nlohmann::json;

void TaskRecorder::Record(const TaskRecord& rec, const FinishedTask& ft,
                          const std::string& full_result_uri) {
  // First the files: the manifest (and DIR/results.jsonl) line names them.
  std::string so, se;
  if (rec.result.stdout_data.size() > kInlineOutputMax) {
    so = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stdout";
    report_(WriteFileAll(so, rec.result.stdout_data));
  }
  if (rec.result.stderr_data.size() > kInlineOutputMax) {
    se = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stderr";
    report_(WriteFileAll(se, rec.result.stderr_data));
  }
  Status files = results_ ? results_->WriteFiles(ft) : Status::Ok();
  report_(files);
  // Then the truth: the task is finished once this line is written.
  json line = ResultLine(job_id_, ft, so, se);
  // --no-download: the whole result (output over the 6 MB response) stays in the store.
  if (!full_result_uri.empty()) line["result_uri"] = full_result_uri;
  Status manifest = state_.AppendResult(JsonLine(line));
  report_(manifest);
  if (!manifest.ok()) return;  // never a --results or --joblog line the manifest lacks
  if (results_ && files.ok()) {
    std::string d = results_->TaskDir(rec.seq);
    json rline =
        ResultLine(job_id_, ft, so.empty() ? "" : d + "/stdout", se.empty() ? "" : d + "/stderr");
    if (!full_result_uri.empty()) rline["result_uri"] = full_result_uri;
    report_(results_->AppendLine(rline));
  }
  if (joblog_) {
    report_(joblog_->Write(JoblogLine(rec, backend_.host(), 0 /* no stdin is sent */, ft.command)));
  }
}

Status TaskRecorder::AlignWithManifest(const std::vector<uint8_t>& finished) {
  if (results_) PG_RETURN_IF_ERROR(results_->AlignWithManifest(state_.dir(), finished));
  if (joblog_) PG_RETURN_IF_ERROR(joblog_->AlignWithManifest(state_.dir(), backend_.host()));
  return Status::Ok();
}

}  // namespace parallelagram::driver
