// `parallelagram run --resume JOB|last`: what a job records at its first run so that it can
// be finished later without repeating its command line, and how a resume finds and checks it.
//
// Recorded at the first run, before any task starts (a job killed before that has nothing to
// resume):
//   inputs.jsonl   the input sources as given: per source read whole a line
//                  {"origin":..,"count":N} then N lines, each one JSON string (or {"b64":..}
//                  for a value that is not UTF-8: inputs are bytes); a streamed last source
//                  (a `::::` file or stdin) is {"origin":..,"stream":true}, then its values
//                  appended as they are read, then {"end":N} once it ended. A job stopped
//                  before that resumes with the values read so far (and says so).
//   job.json       "option_args" (the option words as given, parsed again on resume),
//                  "command", "cwd", "jobs" (the effective -j), "pid", "status", "runs".
//
// A resume: resolves JOB ('last': the most recently created job), refuses a job whose driver
// is still running (job.json's pid is a live `parallelagram ... run`), says a finished or
// halted job is finished (nothing runs), rebuilds the RunOptions from the record, and refuses
// options given with --resume that differ from the recorded ones (-q and --progress may
// change; --state-dir finds the job). The rest (skipping tasks with a durable result,
// collecting async results) is RunJob's (run_job.h).
// Errors: one-line InvalidArgument / NotFound / IoError messages. Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver/inputs.h"
#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// Records a job's inputs in DIR/inputs.jsonl: the sources read whole at Open (through a
// temporary renamed into place), and a streamed last source's values as they are read
// (Append, then End), each call's lines written to the kernel before it returns (one
// write(2)). Open first, on one thread; Append and End may then be called from another
// (the stream's reader) and are serialised.
class InputRecorder {
 public:
  ~InputRecorder();
  Status Open(const std::string& dir, const std::vector<InputSource>& sources);
  void Append(const std::vector<std::string>& values);
  void End(int64_t count);

 private:
  std::mutex mu_;
  std::FILE* f_ = nullptr;
};
// Writes DIR/inputs.jsonl for sources read whole (InputRecorder::Open).
Status WriteRecordedInputs(const std::string& dir, const std::vector<InputSource>& sources);
// Reads DIR/inputs.jsonl. IoError naming the file when it is missing or damaged.
Result<std::vector<InputSource>> ReadRecordedInputs(const std::string& dir);

struct ResumePlan {
  std::string root;  // the state root
  std::string job_id;
  nlohmann::json info;    // job.json as recorded
  bool finished = false;  // nothing to do: `message` says so, exit 0
  std::string message;
  RunOptions options;  // the recorded options (resume = job_id), to pass to RunJob
};

// Finds and checks the job `given.resume` names; `given` is what ParseRunArgs returned for
// the resume's own command line.
Result<ResumePlan> PrepareResume(const RunOptions& given);

// The tasks with a durable result: a complete line in DIR/results.jsonl (one whose '\n' was
// written; the caller cut a torn tail off first). Per seq 1..total: 0 not finished, 1
// succeeded, 2 did not succeed. Lines that are not JSON or name no seq in 1..total are ignored.
// `cost_usd` (optional): the sum of the lines' "cost_usd".
Result<std::vector<uint8_t>> ReadFinishedTasks(const std::string& dir, int64_t total,
                                               double* cost_usd = nullptr);

// Compares the options given with --resume against the recorded ones: InvalidArgument naming
// the first option that differs from both its default and the recorded value.
Status CheckResumeConflicts(const RunOptions& given, const RunOptions& recorded,
                            const std::string& job_id);

}  // namespace parallelagram::driver
