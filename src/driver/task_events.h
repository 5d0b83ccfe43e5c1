// TaskEventBuilder: the event each invocation of a task is sent (the Scheduler's
// EventBuilder): its command line expanded for its slot, its staged files, its --return
// paths, and where this invocation's worker puts returned files and a spilled result
// (ResultRetrieval's per-invocation names). An event over Lambda's payload limit (6 MB sync,
// 1 MB Event, with 4 KB of headroom for the invoker's own fields) is stored at
// jobs/JOB/events/SEQ.N.json and sent as a small event naming it; spilled() lists those
// objects, for deletion when the run ends.
// Errors: a failed write or store of an oversized event (the task then ends as
// staging_error). Not thread-safe; loop thread only. Nothing given is owned; all of it must
// outlive the builder.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "driver/command_template.h"
#include "driver/object_store.h"
#include "driver/result_retrieval.h"
#include "driver/run_options.h"
#include "driver/staging.h"
#include "driver/state_dir.h"
#include "driver/task_plan.h"
#include "driver/task_spec.h"
#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

class TaskEventBuilder {
 public:
  // What the builder reads of the job's settings.
  struct Settings {
    std::string job_id;
    bool shell = false;       // --shell
    int64_t timeout_ms = 0;   // --timeout (0: none)
    int64_t max_output = 0;   // --max-output (0: 1 GiB)
    bool async = false;       // --mode async: the 1 MB Event limit applies
    std::string scratch_dir;  // where an oversized event is written before it is stored
    std::map<std::string, std::string> env;  // --env: every template task's environment
  };
  // `tmpl` may be null when every task comes with its TaskSpec.
  TaskEventBuilder(Settings settings, const CommandTemplate* tmpl, const Staging& staging,
                   ObjectStore& store, const ResultRetrieval& retrieval);

  // The event of the Scheduler's `invocation` of task `in` (with its slot) whose files are
  // `files`: the command template expanded, or, when `spec` is given, the task it describes.
  Result<TaskEvent> Build(const TaskInputs& in, const PlannedTask& files, int64_t invocation,
                          const TaskSpec* spec = nullptr);
  // The URIs of the oversized events stored so far.
  const std::set<std::string>& spilled() const { return spilled_; }

 private:
  Settings s_;
  const CommandTemplate* tmpl_;
  const Staging& staging_;
  ObjectStore& store_;
  const ResultRetrieval& retrieval_;
  std::set<std::string> spilled_;
};

}  // namespace parallelagram::driver
