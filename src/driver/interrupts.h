// Interrupts: SIGINT and SIGTERM for `parallelagram run`, as counters the driver's loop polls
// (RunEnv::interrupts). The handlers only bump counters (async-signal-safe); the driver reads
// them on its loop thread every ~100 ms and acts there:
//   first SIGINT    stop dispatching (no new tasks, retries or duplicates), say so, and wait for
//                   the running attempts; an attempt that would have been retried is left
//                   unfinished (not_run), never recorded as failed.
//   second SIGINT   abandon the running attempts: their results are dropped; the manifest holds
//   or SIGTERM      exactly the tasks that finished, each once (job.json status "interrupted",
//                   or "cancelled" for SIGTERM); exit status 130 (SIGINT) or 143 (SIGTERM).
// Thread-safety: the counters are lock-free atomics; Install/Restore from the main thread.
#pragma once

#include <csignal>

namespace parallelagram::driver {

class InterruptSource {
 public:
  virtual ~InterruptSource() = default;
  virtual int sigint_count() const = 0;
  virtual int sigterm_count() const = 0;
};

// The process's SIGINT/SIGTERM handlers while it lives (previous handlers restored after).
// One at a time per process.
class SignalInterrupts : public InterruptSource {
 public:
  SignalInterrupts();
  ~SignalInterrupts() override;
  SignalInterrupts(const SignalInterrupts&) = delete;
  SignalInterrupts& operator=(const SignalInterrupts&) = delete;
  int sigint_count() const override;
  int sigterm_count() const override;

 private:
  struct sigaction old_int_{}, old_term_{};
};

}  // namespace parallelagram::driver
