// A job's state directory read into what `parallelagram report` draws (docs/report.md):
// every answered invocation (the journal's "a" lines, journal.h), every finished task (the
// results manifest, job_record.h), job.json (job_info.h) and the summary figures.
//
// Reading is tolerant: a torn last line of results.jsonl or journal.jsonl (a crash
// mid-write) and lines that are not JSON are skipped and said in `notes`. A job whose
// journal has no "a" lines (made before they existed) gets one bar per finished task, from
// the manifest (`bars_from_manifest`).
// Errors: NotFound naming the job and the state root when the job does not exist; IoError
// naming the file when one exists but cannot be read. Thread-safety: plain values and a free
// function.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::report {

// One answered invocation: a bar of the timeline.
struct AttemptBar {
  int64_t seq = 0;
  int attempt = 0;
  bool duplicate = false;
  int64_t start_ms = 0, end_ms = 0;  // epoch ms
  std::string outcome;               // succeeded, failed, timed_out, oom, crashed, throttled, ...
  std::string env;                   // the worker's env_id; "" when none answered
  bool cold = false;
  std::optional<int> exit_code;
  int64_t billed_ms = 0;
  double cost_usd = 0;
};

// One task of the job (finished or, in a job still running, only dispatched).
struct TaskRow {
  int64_t seq = 0;
  std::string command;
  std::string outcome;  // "" when not finished
  std::optional<int> exit_code, signal;
  int64_t runtime_ms = 0;  // the final attempt's
  int attempts = 0, invocations = 0;
  double cost_usd = 0;
  std::string stderr_tail;  // the last bytes of stderr (or the function's log tail)
};

struct Summary {
  int64_t total = 0;     // tasks of the job (-1 unknown)
  int64_t finished = 0;  // manifest lines
  std::map<std::string, int64_t> by_outcome;
  int64_t not_run = 0;
  int64_t attempts = 0;          // bars
  int64_t makespan_ms = 0;       // the first bar's start to the last bar's end
  int64_t peak_concurrency = 0;  // most bars (throttled ones aside) overlapping at once
  int64_t task_ms_sum = 0;       // the finished tasks' runtimes, summed
  double ideal_makespan_ms = 0;  // task_ms_sum / peak_concurrency
  double cost_usd = 0;           // job.json's, else the manifest's sum
  bool cost_estimate = false;
};

struct ReportData {
  std::string job_id;
  std::string status;        // job.json's status ("running", "finished", ...)
  bool running = false;      // its driver still runs: the report is of what happened so far
  bool driver_gone = false;  // status "running" but its driver is gone (killed)
  std::string command;       // the job's command line
  std::string created_at;
  bool bars_from_manifest = false;
  std::vector<AttemptBar> bars;  // sorted by start
  std::vector<TaskRow> tasks;    // sorted by seq
  Summary summary;
  std::vector<std::string> notes;  // what was skipped or odd, one line each
};

// Reads job `job_id` of state root `root` (ROOT/jobs/JOB).
Result<ReportData> LoadReportData(const std::string& root, const std::string& job_id);

// The summary of `bars` and `tasks` (LoadReportData's, exposed for tests).
Summary Summarise(const std::vector<AttemptBar>& bars, const std::vector<TaskRow>& tasks,
                  int64_t total, double job_cost_usd);

}  // namespace parallelagram::report
