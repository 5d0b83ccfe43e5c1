#include "driver/task_recorder.h"

#include <nlohmann/json.hpp>

namespace parallelagram::driver {

using json = nlohmann::json;

bool TaskRecorder::Record(const std::vector<Finished>& batch) {
  if (batch.empty()) return true;
  // First the files: the manifest (and DIR/results.jsonl) lines name them.
  struct Written {
    std::string so, se;
    bool files = true;  // DIR/<seq>/ written
  };
  std::vector<Written> written(batch.size());
  std::string manifest;
  for (size_t i = 0; i < batch.size(); ++i) {
    const TaskRecord& rec = *batch[i].rec;
    Written& w = written[i];
    if (rec.result.stdout_data.size() > kInlineOutputMax) {
      w.so = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stdout";
      report_(WriteFileAll(w.so, rec.result.stdout_data));
    }
    if (rec.result.stderr_data.size() > kInlineOutputMax) {
      w.se = state_.dir() + "/output/" + std::to_string(rec.seq) + ".stderr";
      report_(WriteFileAll(w.se, rec.result.stderr_data));
    }
    if (results_) {
      Status files = results_->WriteFiles(*batch[i].ft);
      w.files = files.ok();
      report_(files);
    }
    json line = ResultLine(job_id_, *batch[i].ft, w.so, w.se);
    // --no-download: the whole result (output over the 6 MB response) stays in the store.
    if (!batch[i].full_result_uri.empty()) line["result_uri"] = batch[i].full_result_uri;
    manifest += JsonLine(line);
    manifest += '\n';
  }
  // Then the truth: the tasks are finished once these lines are written.
  Status st = state_.AppendResults(manifest);
  report_(st);
  if (!st.ok()) return false;  // never a --results or --joblog line the manifest lacks
  std::string results_lines, joblog_lines;
  for (size_t i = 0; i < batch.size(); ++i) {
    const TaskRecord& rec = *batch[i].rec;
    if (results_ && written[i].files) {
      std::string d = results_->TaskDir(rec.seq);
      json rline = ResultLine(job_id_, *batch[i].ft, written[i].so.empty() ? "" : d + "/stdout",
                              written[i].se.empty() ? "" : d + "/stderr");
      if (!batch[i].full_result_uri.empty()) rline["result_uri"] = batch[i].full_result_uri;
      results_lines += JsonLine(rline);
      results_lines += '\n';
    }
    if (joblog_) {
      joblog_lines +=
          JoblogLine(rec, backend_.host(), batch[i].ft->stdin_bytes, batch[i].ft->command);
    }
  }
  if (!results_lines.empty()) report_(results_->AppendLines(results_lines));
  if (!joblog_lines.empty()) report_(joblog_->Write(joblog_lines));
  return true;
}

Status TaskRecorder::AlignWithManifest(const std::vector<uint8_t>& finished) {
  if (results_) PG_RETURN_IF_ERROR(results_->AlignWithManifest(state_.dir(), finished));
  if (joblog_) PG_RETURN_IF_ERROR(joblog_->AlignWithManifest(state_.dir(), backend_.host()));
  return Status::Ok();
}

}  // namespace parallelagram::driver
