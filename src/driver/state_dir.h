// The state directory: one directory per job holding what is needed to inspect it later
// (and, in a later version, to resume it).
//
//   ROOT/jobs/JOB/job.json       what was run: id, command line, cwd, task count, status
//   ROOT/jobs/JOB/tasks.jsonl    one line per task: {"seq","args","command"}, appended as
//                                each task arrives
//   ROOT/jobs/JOB/results.jsonl  the results manifest: one line per finished task, each
//                                written (one write(2)) as the task finishes (ResultLine in
//                                job_record.h); the truth about which tasks are finished
//   ROOT/jobs/JOB/journal.jsonl  the journal of dispatched attempts, for --resume (journal.h);
//                                results.jsonl is its "finished" half
//   ROOT/jobs/JOB/inputs.jsonl   the job's inputs as given, for --resume (resume.h)
//   ROOT/jobs/JOB/output/        stdout/stderr of tasks too large to inline in the manifest
//   ROOT/store/                  the local object store (cas/ for staged inputs, jobs/JOB/ for
//                                returned files)
//
// ROOT is --state-dir, else $XDG_STATE_HOME/parallelagram, else ~/.local/state/parallelagram,
// else (no HOME either, as inside a Lambda function) $TMPDIR/parallelagram-UID (/tmp when
// TMPDIR is unset), said once per process on stderr.
// Errors: IoError naming the path. Thread-safety: free functions; JobState is not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driver/line_file.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// ROOT from `flag` (--state-dir) and the environment; made absolute. Without a flag,
// XDG_STATE_HOME or HOME, the temporary root is made (0700) and checked to be this user's
// directory: InvalidArgument when it is not, IoError when it cannot be made.
Result<std::string> ResolveStateRoot(const std::string& flag);

// A fresh job id: UTC time and a random suffix, e.g. "20261125-194233-7f3a".
std::string NewJobId();

// Writes job.json in the job directory `job_dir` through job.json.tmp renamed into place
// (readers never see a partial file). Errors: IoError naming the file.
Status WriteJobJson(const std::string& job_dir, const nlohmann::json& info);

class JobState {
 public:
  // Creates ROOT/jobs/JOB. AlreadyExists when the job exists (ids are never reused).
  Status Create(const std::string& root, const std::string& job_id);
  // Opens the existing ROOT/jobs/JOB of a job being resumed, cutting a torn last line off
  // results.jsonl (a crash mid-write). NotFound when the job does not exist.
  Status Open(const std::string& root, const std::string& job_id);
  const std::string& dir() const { return dir_; }
  // Writes job.json atomically (temporary + rename).
  Status WriteJobInfo(const nlohmann::json& info);
  ~JobState();
  // Starts tasks.jsonl afresh (AppendTask adds each task as it arrives) and opens
  // results.jsonl for appending.
  Status OpenTasks();
  // Appends one tasks.jsonl line (buffered; written by Flush, and before any manifest line).
  void AppendTask(const std::string& line);
  // Appends manifest lines (`lines`: whole lines, each ending in '\n') with one write(2),
  // after the buffered tasks.jsonl lines: once it returns Ok those tasks are finished for
  // good, even if the driver is killed the next moment. IoError naming the file when it
  // cannot be written (nothing of the lines is left then).
  Status AppendResults(std::string_view lines);
  // Writes buffered tasks.jsonl lines (manifest lines are not buffered).
  void Flush();
  // fdatasync results.jsonl (once, when a run ends).
  void Sync() { results_.Sync(); }

 private:
  std::string dir_;
  LineFile results_;
  std::FILE* tasks_ = nullptr;
};

// Removes the directory of a job just made by JobState::Create when destroyed, unless Keep()
// was called: a setup error after Create leaves nothing behind and the --job-id stays usable.
// An empty `dir` guards nothing (a resumed job is never removed).
class NewJobGuard {
 public:
  explicit NewJobGuard(std::string dir) : dir_(std::move(dir)) {}
  ~NewJobGuard();
  NewJobGuard(const NewJobGuard&) = delete;
  NewJobGuard& operator=(const NewJobGuard&) = delete;
  void Keep() { dir_.clear(); }

 private:
  std::string dir_;
};

// A job id is one plain name: not empty, not "." or "..", no '/', no NUL, at most 200 bytes.
// InvalidArgument saying so otherwise (ids name directories under ROOT/jobs).
Status CheckJobId(const std::string& job_id);

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
// `job` itself, or for "last" the newest job's id (NotFound when there is none).
Result<std::string> ResolveLastJob(const std::string& root, const std::string& job);
// The manifest lines of one job, sorted by seq. NotFound (naming the job and ROOT) when absent.
Result<std::vector<nlohmann::json>> ReadResults(const std::string& root, const std::string& job_id);
Result<JobSummary> ReadJob(const std::string& root, const std::string& job_id);

// Brings a record kept beside the manifest (--results DIR/results.jsonl, --joblog) back in
// line with the manifest STATE_DIR/results.jsonl, for a resumed run before it appends: then
// `path` holds `header` (unless empty) and, in the manifest's order, exactly one line per task
// with a complete manifest line: the record's own first complete line for that task when it
// has one, else `make(manifest line)` (the driver was killed between the two writes). Lines of
// tasks without a manifest line, second copies and a torn tail are dropped. The file is
// rewritten (a temporary renamed into place: a kill leaves the old or the new one) only when
// that changes it, so whoever has it open must reopen it. A missing file counts as empty; a
// path that is not a regular file (a FIFO, /dev/stdout, a symlink) is left as it is.
// `seq_of(line)`: the task a record line (without '\n') is for, 0 for none. IoError naming
// the path.
Status AlignWithManifest(const std::string& state_dir, const std::string& path,
                         const std::string& header,
                         const std::function<int64_t(std::string_view)>& seq_of,
                         const std::function<std::string(const nlohmann::json&)>& make);

}  // namespace parallelagram::driver
