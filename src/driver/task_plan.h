// TaskPlan: every task of a `run`, planned before anything starts: its input values and the
// files it sends (--transferfile) and brings back (--return), expanded and checked up front
// so that bad input starts nothing.
//
// Kept compactly so that a million tasks stay cheap: a task's input values are recomputed
// from the sources when needed (Values), and per-task file lists are stored only when the
// job has --transferfile or --return.
// Thread-safety: not thread-safe. A TaskPlan refers to its RunOptions, which must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/run_options.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// The per-task files as planned up front.
struct PlannedTask {
  std::vector<std::string> transfer;  // expanded --transferfile paths
  std::vector<std::string> returns;   // expanded --return paths
};

class TaskPlan {
 public:
  TaskPlan(const RunOptions& o, int64_t total) : o_(o) {
    if (!o.transferfiles.empty() || !o.returns.empty()) files_.resize(static_cast<size_t>(total));
  }
  // Task `seq`'s input values (1-based seq).
  std::vector<std::string> Values(int64_t seq) const {
    return TaskValues(o_.sources, o_.link, seq - 1);
  }
  PlannedTask& mutable_files(int64_t seq) { return files_[static_cast<size_t>(seq - 1)]; }
  // Task `seq`'s files (none when the job has no per-task files).
  const PlannedTask& Files(int64_t seq) const {
    static const PlannedTask kNone;
    return files_.empty() ? kNone : files_[static_cast<size_t>(seq - 1)];
  }
  // The number of tasks with a file list: 0, or every task.
  int64_t with_files() const { return static_cast<int64_t>(files_.size()); }

 private:
  const RunOptions& o_;
  std::vector<PlannedTask> files_;  // empty: no task has files
};

// Expands every task's --transferfile and --return paths into `plan`. A local transfer file
// must exist (relative to the current directory); s3:// inputs are kept as they are (used
// in place, staging.h). Errors (InvalidArgument / NotFound, one line naming the option, the
// path and the task): the first bad path; nothing has been started.
Status PlanTaskFiles(const RunOptions& o, TaskPlan& plan);

// Checks that every --basefile exists (relative to the current directory). NotFound or
// InvalidArgument naming it.
Status CheckBasefiles(const RunOptions& o);

}  // namespace parallelagram::driver
