// ProcessTaskHandler: the built-in task kind "process" (docs/protocol.md).
//
// Per invocation: make a fresh scratch directory under ctx.tmp_dir, stage the inputs,
// run argv there (TaskEvent::cwd is relative to it) with a timeout placed before the
// invocation deadline, store the returned files, classify the outcome, and remove the
// scratch directory. Runs on the worker's thread; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "os/process_runner.h"
#include "parallelagram/worker.h"
#include "worker/blob_store.h"
#include "worker/scratch_files.h"

namespace parallelagram {

// The timeout for a task, in ms, given its own timeout_ms (<= 0: none) and the
// invocation's deadline (0: none). The deadline keeps a margin to post the result:
// 10% of the time left, clamped to [200 ms, 2 s]. Returns 0 for "no timeout", and a
// negative number when the deadline leaves no time to run at all.
int64_t TaskTimeoutMs(int64_t task_timeout_ms, int64_t deadline_epoch_ms, int64_t now_epoch_ms);
// The margin TaskTimeoutMs keeps before a deadline `remaining_ms` away.
int64_t DeadlineMarginMs(int64_t remaining_ms);

// A process killed by SIGKILL that we did not send counts as out of memory when its peak
// RSS reached this share of the function's memory.
inline constexpr double kOomRssShare = 0.85;

class ProcessTaskHandler : public TaskHandler {
 public:
  // Borrows `runner`, `blobs` and `clock`, which must outlive the handler.
  ProcessTaskHandler(os::ProcessRunner* runner, Blobs* blobs, const Clock* clock);

  // Checks that ctx.tmp_dir is a writable directory and prepares the basefile cache
  // (ctx.tmp_dir + "/pg-cache").
  Status Init(const InvocationContext& env) override;
  Result<TaskResult> Run(const TaskEvent& event, const InvocationContext& ctx) override;

  const ScratchFiles* scratch_files() const { return scratch_files_.get(); }

 private:
  void RunInScratch(const TaskEvent& e, const InvocationContext& ctx, const std::string& scratch,
                    TaskResult& r);

  os::ProcessRunner* runner_;
  Blobs* blobs_;
  const Clock* clock_;
  std::unique_ptr<ScratchFiles> scratch_files_;
};

// The stock "process" handler with its own PosixProcessRunner, file:// blobs and the
// system clock.
std::unique_ptr<TaskHandler> MakeDefaultProcessHandler();

}  // namespace parallelagram
