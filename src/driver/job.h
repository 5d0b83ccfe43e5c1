// Job: the engine. A job takes tasks, runs them on a backend and reports each result exactly
// once. `parallelagram run` (run_job.h) and a C++ program are two ways to feed it.
//
// Its life, in job.cc top to bottom:
//   1. Open      create the job's state (ROOT/jobs/JOB: job.json, inputs, journal) or reopen
//                it for a resume, with --results and --joblog.
//   2. Start     start the backend, stage --basefile/--transferfile inputs.
//   3. Execute   run the loop until every task has ended: the Scheduler pulls tasks from the
//                TaskSource as slots free up (a source may still be reading its input), the
//                job records each dispatch in the journal, and each finished task is brought
//                back, recorded (manifest, --results, --joblog) and handed to JobObserver.
//   4. Finish    delete what the run left in the store, write job.json's end, exit status.
// The job is its Scheduler's only listener and the backend's only observer; its pieces
// (TaskEventBuilder, ResultRetrieval, TaskRecorder) never call back into it.
//
// Feeding: a TaskSource (InputFeed for `run`'s inputs, SubmitQueue for a program) is pulled
// on the loop thread; one that has nothing yet answers kWait and calls the wake function it
// was given (any thread) when it may have more.
// Stopping: StopRequest (job_observer.h), polled every 100 ms.
// Errors: Run returns kExitUsage (255) after JobObserver::Notice with the one-line reason when
// the job cannot be set up; nothing was dispatched then.
// Thread-safety: Run on one thread (it runs `loop` there); SubmitQueue::Submit from any.
// Several jobs may run in one process, one after another or at once (each with its own loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/job_observer.h"
#include "driver/run_options.h"
#include "driver/task_spec.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

inline constexpr int kExitUsage = 255;
inline constexpr int kExitInterrupted = 130;  // SIGINT (Ctrl-C), as shells report it
inline constexpr int kExitTerminated = 143;   // SIGTERM
inline constexpr int kExitBudget = 102;       // stopped at --max-cost (tasks left not started)

// One task from a TaskSource: its input values (one per source; `{}`, `{1}`, ... in the
// command template), or, for a task a program described whole, its spec (then `values` is
// what the manifest's "args" shows).
struct SourcedTask {
  std::vector<std::string> values;
  std::shared_ptr<const TaskSpec> spec;  // null: the command template's task
  // Staged files whose concatenation is the task's stdin (a --pipe block: pipe_feed.h).
  std::vector<StagedFile> stdin_parts;
};

// Where a job's tasks come from. Pulled on the loop thread.
class TaskSource {
 public:
  virtual ~TaskSource() = default;
  enum class Next { kTask, kWait, kEnd };
  // kTask: *task holds the next one. kWait: none yet; the wake function given to
  // SetWake is called (any thread) when there may be. kEnd: final.
  virtual Next Pull(SourcedTask* task) = 0;
  // `wake` stays valid for the source's life.
  virtual void SetWake(std::function<void()> wake) = 0;
  // The task count when known up front (every input already read), else -1.
  virtual int64_t known_total() const { return -1; }
  // Called (on any thread) with input values as they are read, before a task using them is
  // pulled, and with their count when the input ended (the job records streamed inputs for
  // --resume). Set before the first Pull. Sources without streamed input ignore it.
  virtual void SetRecorder(std::function<void(const std::vector<std::string>&)> /*values*/,
                           std::function<void(int64_t)> /*end*/) {}
  // Set when reading failed, once Pull said kEnd.
  virtual Status error() const { return Status::Ok(); }
  // The job's object store and id, given once the backend is up, before the first Pull (a source
  // that stores its tasks' inputs itself: pipe_feed.h). Not owned; outlives the source's use.
  virtual void SetStore(ObjectStore* /*store*/, const std::string& /*job_id*/) {}
  // What the source stored for its tasks: the job deletes it when it ends.
  virtual std::vector<std::string> StoredObjects() const { return {}; }
};

// A TaskSource a program submits to while the job runs. Thread-safe.
class SubmitQueue : public TaskSource {
 public:
  // Adds a task (input values for the job's command template, or a whole TaskSpec); returns
  // its number ({#}), 1, 2, ... Fails after Close(). `on_numbered`, when given, is called
  // with the number before the task can be pulled (under the queue's lock: keep it short).
  Result<int64_t> Submit(std::vector<std::string> values);
  Result<int64_t> SubmitSpec(TaskSpec spec, const std::function<void(int64_t)>& on_numbered = {});
  // No more tasks: the job ends once the submitted ones have.
  void Close();
  Next Pull(SourcedTask* task) override;
  void SetWake(std::function<void()> wake) override;

 private:
  Result<int64_t> Add(SourcedTask t, const std::function<void(int64_t)>& on_numbered);
  std::mutex mu_;
  std::vector<SourcedTask> queue_;  // not pulled yet, in order
  size_t head_ = 0;
  int64_t submitted_ = 0;
  bool closed_ = false, waiting_ = false;
  std::function<void()> wake_;
};

// What a job runs on, given by its caller.
struct JobContext {
  Loop* loop = nullptr;  // run on the calling thread by Job::Run
  const Clock* clock = nullptr;
  BackendFactory backend;
  JobObserver* observer = nullptr;    // required
  const StopRequest* stop = nullptr;  // null: never asked to stop
  std::string argv_line;              // the command line, recorded in job.json
  int default_jobs = 1;               // -j when not given
};

class Job {
 public:
  // `spec`: the job (command, options; its sources are not used: tasks come from `source`).
  // Its command may be empty when every task comes with its own TaskSpec.
  // Nothing given is owned but `source`; `ctx`'s pointers must outlive the job.
  Job(RunOptions spec, std::unique_ptr<TaskSource> source, JobContext ctx);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Opens, starts, executes and finishes the job; returns its exit status (0: every task
  // succeeded; else the failed count, at most 101, and at least 1 when the source's input
  // could not be read to its end; 130/143 after a stop; 255 when it could not be set up).
  int Run();
  // The job's id (generated at Open when the spec has none).
  const std::string& id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parallelagram::driver
