#include "driver/task_recorder.h"

#include <nlohmann/json.hpp>

namespace parallelagram::driver {

using json = nlohmann::json;

void TaskRecorder::Record(const TaskRecord& rec, const FinishedTask& ft,
                          const std::string& full_result_uri) {
  // The manifest: outputs inline when small, else in the state dir's output/.
  std::string so, se;
  if (rec.result.stdout_data.size() > kInlineOutputMax) {
    so = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stdout";
    report_(WriteFileAll(so, rec.result.stdout_data));
  }
  if (rec.result.stderr_data.size() > kInlineOutputMax) {
    se = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stderr";
    report_(WriteFileAll(se, rec.result.stderr_data));
  }
  json line = ResultLine(job_id_, ft, so, se);
  // --no-download: the whole result (output over the 6 MB response) stays in the store.
  if (!full_result_uri.empty()) line["result_uri"] = full_result_uri;
  state_.AppendResult(JsonLine(line));
  if (results_) {
    std::string d = results_->TaskDir(rec.seq);
    json rline =
        ResultLine(job_id_, ft, so.empty() ? "" : d + "/stdout", se.empty() ? "" : d + "/stderr");
    if (!full_result_uri.empty()) rline["result_uri"] = full_result_uri;
    report_(results_->Write(ft, rline));
  }
  if (joblog_) {
    joblog_->Write(JoblogLine(rec, backend_.host(), 0 /* no stdin is sent */, ft.command));
  }
}

}  // namespace parallelagram::driver
