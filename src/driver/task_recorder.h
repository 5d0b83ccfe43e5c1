// TaskRecorder: writes down finished tasks: each one's line in the results manifest (the
// state dir's results.jsonl; outputs over kInlineOutputMax go to the state dir's
// output/SEQ.stdout and .stderr and the line names them), and when asked for, its --results
// DIR entry and its --joblog line. The manifest is the truth: a task is finished for good
// (never run again by a resume) once its manifest line is written (JobState::AppendResults).
// Tasks come in batches (those that finished in one pass of the I/O loop), so a batch
// costs one write(2) per file, not one per task and file. The order: the tasks' files
// (output/, DIR/<seq>/), then their manifest lines, then their lines in DIR/results.jsonl and
// the joblog; so after a SIGKILL those two may lack the last tasks of the manifest but never
// hold a task it lacks, and AlignWithManifest (on resume) adds what they lack.
// Errors: a failed write of an output file or of --results is passed to `report` and the
// rest is still written. Not thread-safe; loop thread only. Does not own what it is given:
// `state`, `results`, `joblog` and `backend` must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "driver/backend.h"
#include "driver/job_record.h"
#include "driver/joblog.h"
#include "driver/scheduler.h"
#include "driver/state_dir.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

class TaskRecorder {
 public:
  // `results` and `joblog`: null when not asked for. `backend`: its host() is the joblog's
  // Host column.
  TaskRecorder(std::string job_id, JobState& state, ResultsDir* results, JoblogWriter* joblog,
               const Backend& backend, std::function<void(const Status&)> report)
      : job_id_(std::move(job_id)),
        state_(state),
        results_(results),
        joblog_(joblog),
        backend_(backend),
        report_(std::move(report)) {}

  // One finished task: `rec`, its description `ft` (with the returned files brought back),
  // and `full_result_uri`: where its whole result stays with --no-download ("" if none).
  struct Finished {
    const TaskRecord* rec = nullptr;
    const FinishedTask* ft = nullptr;
    std::string full_result_uri;
  };
  // Records `batch` (each task once). Returns whether their manifest lines were written
  // (false: an IoError was reported, and none of them is recorded anywhere).
  bool Record(const std::vector<Finished>& batch);

  // A resumed job, before the first Record: --results and --joblog brought back in line with
  // the manifest (each task of it once, no other; ResultsDir and JoblogWriter
  // ::AlignWithManifest). `finished`: per seq 1..total, nonzero when the manifest has it
  // (ReadFinishedTasks, resume.h). IoError naming the file.
  Status AlignWithManifest(const std::vector<uint8_t>& finished);

 private:
  std::string job_id_;
  JobState& state_;
  ResultsDir* results_;
  JoblogWriter* joblog_;
  const Backend& backend_;
  std::function<void(const Status&)> report_;
};

}  // namespace parallelagram::driver
