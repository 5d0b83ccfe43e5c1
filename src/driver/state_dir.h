// The state directory: one directory per job holding what is needed to inspect it later
// (and, in a later version, to resume it).
//
//   ROOT/jobs/JOB/job.json       what was run: id, command line, cwd, task count, status
//   ROOT/jobs/JOB/tasks.jsonl    one line per task: {"seq","args","command"}, written up front
//                                (streamed)
//   ROOT/jobs/JOB/results.jsonl  the results manifest: one line per finished task, appended
//                                and flushed as each finishes (ResultLine in job_record.h)
//   ROOT/jobs/JOB/journal.jsonl  the journal of dispatched attempts, for --resume (journal.h);
//                                results.jsonl is its "finished" half
//   ROOT/jobs/JOB/inputs.jsonl   the job's inputs as given, for --resume (resume.h)
//   ROOT/jobs/JOB/output/        stdout/stderr of tasks too large to inline in the manifest
//   ROOT/store/                  the local object store (cas/ for staged inputs, jobs/JOB/ for
//                                returned files)
//
// ROOT is --state-dir, else $XDG_STATE_HOME/parallelagram, else ~/.local/state/parallelagram.
// Errors: IoError naming the path. Thread-safety: free functions; JobState is not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

// ROOT from `flag` (--state-dir) and the environment; made absolute. InvalidArgument when
// neither HOME nor XDG_STATE_HOME is set and no flag is given.
Result<std::string> ResolveStateRoot(const std::string& flag);

// A fresh job id: UTC time and a random suffix, e.g. "20261125-194233-7f3a".
std::string NewJobId();

// Writes job.json in the job directory `job_dir` through job.json.tmp renamed into place
// (readers never see a partial file). Errors: IoError naming the file.
Status WriteJobJson(const std::string& job_dir, const nlohmann::json& info);

class JobState {
 public:
  ~JobState();
  // Creates ROOT/jobs/JOB. AlreadyExists when the job exists (ids are never reused).
  Status Create(const std::string& root, const std::string& job_id);
  // Opens the existing ROOT/jobs/JOB of a job being resumed, cutting a torn last line off
  // results.jsonl (a crash mid-write). NotFound when the job does not exist.
  Status Open(const std::string& root, const std::string& job_id);
  const std::string& dir() const { return dir_; }
  // Writes job.json atomically (temporary + rename).
  Status WriteJobInfo(const nlohmann::json& info);
  // Writes tasks.jsonl, line(1) .. line(n) streamed one at a time (never all in memory), and
  // opens results.jsonl for appending.
  Status WriteTasks(int64_t n, const std::function<std::string(int64_t seq)>& line);
  // Appends one manifest line. Lines are flushed in batches: when the last flush is
  // kResultFlushMs old, and by Flush() / the destructor (so a crash loses at most that much).
  void AppendResult(const std::string& line);
  void Flush();
  // Flush() and fdatasync results.jsonl (once, when a run ends).
  void Sync();
  static constexpr int64_t kResultFlushMs = 100;

 private:
  std::string dir_;
  std::FILE* results_ = nullptr;
  int64_t last_flush_ms_ = 0;
};

struct JobSummary {
  std::string job_id;
  nlohmann::json info;   // job.json (empty object if unreadable)
  int64_t total = 0;     // from job.json
  int64_t finished = 0;  // lines in results.jsonl
  int64_t succeeded = 0;
  int64_t failed = 0;
  std::string status;  // running, finished, halted, interrupted, unknown
};

// Every job under ROOT/jobs, oldest first (by creation time). Unreadable entries are listed
// with status "unknown".
std::vector<JobSummary> ListJobs(const std::string& root);
// The manifest lines of one job, sorted by seq. NotFound (naming the job and ROOT) when absent.
Result<std::vector<nlohmann::json>> ReadResults(const std::string& root, const std::string& job_id);
Result<JobSummary> ReadJob(const std::string& root, const std::string& job_id);

}  // namespace parallelagram::driver
