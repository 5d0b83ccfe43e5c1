// ResultRetrieval: what a `run` fetches from and deletes in its object store for each answer.
//
// Every invocation of a task has its own names in the store (SEQ.N, N numbered across the
// job's runs), so no two invocations (a retry, a speculative duplicate, an attempt of an
// earlier run still going) ever write the same object. A sync response must fit Lambda's
// 6 MB limit, so the worker cuts large output there and stores its full result at the
// event's result_uri (result_spill_only). Only such a cut response costs a store request (one
// GET, one DELETE): a stream is cut when the response holds less of it than the task kept
// (what it wrote, at most --max-output); output cut by --max-output alone is complete.
// --return files are copied to where GNU parallel puts them and their objects deleted. With
// --no-download nothing is fetched: the objects stay and their URIs go to the manifest.
//
// Errors: a failed fetch is passed to `report` (the task is recorded with what it has);
// deletes are best effort. Not thread-safe; loop thread only. `o`, `store`, `state` and
// `results` (null: no --results) are not owned and must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "driver/job_record.h"
#include "driver/object_store.h"
#include "driver/run_options.h"
#include "driver/scheduler.h"
#include "driver/state_dir.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

class ResultRetrieval {
 public:
  // What it reads of the job's settings.
  struct Settings {
    int64_t max_output = 0;    // --max-output (0: the default)
    bool async = false;        // --mode async
    bool no_download = false;  // --no-download
  };
  // `first_invocation_number`: this run's first number N (BackendConfig::first_result_number).
  ResultRetrieval(Settings settings, ObjectStore& store, std::string job_id, const JobState& state,
                  ResultsDir* results, int64_t first_invocation_number,
                  std::function<void(const Status&)> report)
      : settings_(settings),
        store_(store),
        job_id_(std::move(job_id)),
        state_(state),
        results_(results),
        first_number_(first_invocation_number),
        report_(std::move(report)) {}

  // "SEQ.N" for the Scheduler's `invocation` of task `seq` (N: its number across the runs).
  std::string InvocationName(int64_t seq, int64_t invocation) const {
    return std::to_string(seq) + "." + std::to_string(first_number_ - 1 + invocation);
  }
  // Where the worker spills a sync result too big for the response.
  std::string ResultUri(int64_t seq, int64_t invocation) const {
    return store_.Uri("jobs/" + job_id_ + "/results/" + InvocationName(seq, invocation) + ".json");
  }
  // The prefix under which the worker stores the invocation's --return files.
  std::string OutputUri(int64_t seq, int64_t invocation) const {
    return store_.Uri("jobs/" + job_id_ + "/out/" + InvocationName(seq, invocation));
  }

  // True when some invocation may have left objects under results/ or out/ that nothing
  // deleted (no answer came, or it came after the job ended): the end-of-run sweep is due.
  bool may_leave_objects() const { return may_leave_objects_; }
  // A speculative duplicate was sent: the loser may answer after the job ended.
  void NoteDuplicate() { may_leave_objects_ = true; }

  // True when the response cut a stream that the task kept more of (see above).
  bool WasCut(const TaskResult& r) const;

  // Deletes what the answer's invocation stored (its spilled result, its --return files):
  // used for answers that do not finish their task. A transport failure (no answer) cannot
  // say what its worker stored; it arms the end-of-run sweep instead. Async results live in
  // the inbox, which deletes them itself.
  void DeleteObjectsOf(const TaskRecord& a);

  // For a cut response: replaces rec's outputs with the full result stored at `result_uri`
  // and deletes that object. With --no-download returns `result_uri` (the result stays, for
  // the manifest) and changes nothing; "" otherwise.
  std::string FetchFullResult(TaskRecord& rec, const std::string& result_uri);

  // --return: copies each returned object to where GNU parallel puts it (relative to the
  // current directory), or under --results DIR/<seq>/, and deletes the object; each copy is
  // listed in ft.returned. With --no-download the objects stay in the store and the
  // manifest's `dest` is their URI.
  void BringBack(const TaskRecord& rec, FinishedTask& ft);

 private:
  Settings settings_;
  ObjectStore& store_;
  std::string job_id_;
  const JobState& state_;
  ResultsDir* results_;
  int64_t first_number_;
  std::function<void(const Status&)> report_;
  bool may_leave_objects_ = false;
};

// Deletes every object left under the job's results/ and out/ prefixes (sync mode, after
// the run used what it needed). Errors are ignored: the objects are only garbage.
void SweepJobObjects(ObjectStore& store, const std::string& job_id);

}  // namespace parallelagram::driver
