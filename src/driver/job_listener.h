// JobListener: a `run` while its Scheduler runs it. It is the Scheduler's listener: every
// dispatch goes to the journal (and the --json stream), an answer that does not finish its
// task has its stored objects deleted (ResultRetrieval), and each finished task is brought
// back (its full result if cut, its --return files), recorded (TaskRecorder: manifest,
// --results, --joblog) and printed (JobOutput). It also keeps the progress display current
// and acts on Ctrl-C / SIGTERM (driver/interrupts.h has the behaviour).
// Not thread-safe; loop thread only. Nothing given is owned; all of it must outlive the
// listener. set_scheduler must be called before the Scheduler starts.
#pragma once

#include <cstdint>
#include <string>

#include "driver/command_template.h"
#include "driver/job_info.h"
#include "driver/job_output.h"
#include "driver/journal.h"
#include "driver/progress.h"
#include "driver/result_retrieval.h"
#include "driver/run_job.h"
#include "driver/scheduler.h"
#include "driver/task_plan.h"
#include "driver/task_recorder.h"

namespace parallelagram::driver {

class JobListener : public Scheduler::Listener {
 public:
  JobListener(const RunOptions& o, RunEnv& env, const CommandTemplate& tmpl, const TaskPlan& tasks,
              std::string job_id, ResultRetrieval& retrieval, TaskRecorder& recorder,
              JobOutput& output, Progress& progress)
      : o_(o),
        env_(env),
        tmpl_(tmpl),
        tasks_(tasks),
        job_id_(std::move(job_id)),
        retrieval_(retrieval),
        recorder_(recorder),
        output_(output),
        progress_(progress) {}

  void set_scheduler(Scheduler* s) { sched_ = s; }
  // Null: nothing journaled.
  void set_journal(Journal* j) { journal_ = j; }
  // The run's start on env.clock (monotonic µs): ElapsedMs counts from it.
  int64_t start_us = 0;

  void OnStart(int64_t seq, int attempt, int slot) override;
  void OnSpeculate(int64_t seq, int attempt, int slot) override;
  void OnRetry(const TaskRecord& a) override;
  // A losing duplicate's (or an abandoned) answer: nothing of it is used, so whatever its
  // worker stored goes.
  void OnDropped(const TaskRecord& a) override { retrieval_.DeleteObjectsOf(a); }
  void OnFinish(const TaskRecord& rec_in) override;
  void OnHalt(const std::string& why) override;
  void OnDone() override { env_.loop->Stop(); }

  // Updates the progress display now and then on env.loop until the Scheduler is done (every
  // 100 ms on a terminal, else every second).
  void Tick();
  // Polls env.interrupts every 100 ms until the Scheduler is done: the first Ctrl-C drains,
  // a second one or SIGTERM abandons the running attempts.
  void WatchInterrupts();

  Interruption interrupt() const { return interrupt_; }
  bool halted() const { return halted_; }
  ProgressCounts Counts() const;
  int64_t ElapsedMs() const { return (env_.clock->NowMonoUs() - start_us) / 1000; }

 private:
  void UpdateProgress() {
    if (sched_) progress_.Update(Counts(), ElapsedMs());
  }

  const RunOptions& o_;
  RunEnv& env_;
  const CommandTemplate& tmpl_;
  const TaskPlan& tasks_;
  std::string job_id_;
  ResultRetrieval& retrieval_;
  TaskRecorder& recorder_;
  JobOutput& output_;
  Progress& progress_;
  Scheduler* sched_ = nullptr;
  Journal* journal_ = nullptr;
  bool halted_ = false;
  Interruption interrupt_ = Interruption::kNone;
};

}  // namespace parallelagram::driver
