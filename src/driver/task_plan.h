// Task planning: the files a task sends (--transferfile) and brings back (--return),
// expanded from its inputs and checked, when the task arrives (a streamed input) or, for
// inputs known up front, for every task once, before anything starts (PlanAllTasks), so that
// bad input starts nothing.
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/arg_shaping.h"
#include "driver/command_template.h"
#include "driver/run_options.h"
#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

// The per-task files.
struct PlannedTask {
  std::vector<std::string> transfer;    // expanded --transferfile paths
  std::vector<std::string> returns;     // expanded --return paths
  std::vector<StagedFile> stdin_parts;  // stdin, one file after another (--pipe)
};

// The templates a plan expands.
struct FileTemplates {
  std::vector<std::string> transfer;  // --transferfile
  std::vector<std::string> returns;   // --return
  int num_sources = 1;
  bool empty() const { return transfer.empty() && returns.empty(); }
};

// Expands task `in`'s --transferfile and --return paths. A local transfer file must exist
// (relative to the current directory); s3:// inputs are kept as they are (used in place,
// staging.h). Errors (InvalidArgument / NotFound, one line naming the option, the path and
// the task).
Result<PlannedTask> PlanTaskFiles(const FileTemplates& t, const TaskInputs& in);

// PlanTaskFiles for every task of sources read whole (no streamed source), in task order
// (empty when `t` is): the first error. `shaping`: the job's (InputFeed's), when active.
Result<std::vector<PlannedTask>> PlanAllTasks(const FileTemplates& t,
                                              const std::vector<InputSource>& sources, bool link,
                                              const ArgShaping& shaping = {});

// Every task's values for sources read whole, as InputFeed makes them with `shaping`.
Result<std::vector<std::vector<std::string>>> AllTaskValues(const std::vector<InputSource>& sources,
                                                            bool link, const ArgShaping& shaping);

// Checks that every --basefile exists (relative to the current directory). NotFound or
// InvalidArgument naming it.
Status CheckBasefiles(const std::vector<std::string>& basefiles);

}  // namespace parallelagram::driver
