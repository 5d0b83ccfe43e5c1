// ConsoleReporter: what `parallelagram run` prints while a Job runs (JobObserver on the run's out
// and err streams): each finished task's output (JobOutput: whole, in completion order or
// with -k in input order; with --line-buffer / -u as it comes), the --json event stream,
// notices ("parallelagram: ..."), and the progress display (a live line on a terminal; else
// plain lines every second with --progress, every 5 s without), or instead GNU parallel's
// --eta / --bar display (GnuStatus).
// Not thread-safe; loop thread only. Does not own the streams.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "driver/gnu_status.h"
#include "driver/job_observer.h"
#include "driver/job_output.h"
#include "driver/progress.h"

namespace parallelagram::driver {

class ConsoleReporter : public JobObserver {
 public:
  struct Settings {
    JobOutput::Settings output;
    bool progress = false;    // --progress
    bool err_is_tty = false;  // stderr is a terminal: a live status line
    // GNU parallel's display instead of the progress line (not with -q).
    enum class Gnu { kNone, kEta, kBar } gnu_status = Gnu::kNone;
    std::string host = "local";  // --eta's computer name
    int cores = 0;               // --eta's CPU cores (0: "-")
    int columns = 80;            // --bar's width
  };
  ConsoleReporter(Settings s, std::FILE* out, std::FILE* err);

  void JobStarted(const std::string& job_id, int64_t known_total, int jobs,
                  const std::string& state_dir) override;
  void TaskStarted(int64_t seq, int attempt, int slot, bool duplicate) override;
  void TaskRetrying(const TaskRecord& a) override;
  void TaskOutput(int64_t seq, bool is_stderr, const std::string& data,
                  const std::string& tag) override {
    output_.Live(seq, is_stderr, data, tag);
  }
  void TaskFinished(std::shared_ptr<const TaskRecord> rec, const FinishedTask& ft) override;
  void SetupFailed(const Status& s) override;
  void Notice(const std::string& line) override;
  void Problem(const Status& s) override { output_.Report(s); }
  void Stopping(const std::string& what, const char* action) override { output_.Say(what, action); }
  void Halting(const std::string& why) override { output_.Halting(why); }
  void Progress(const ProgressCounts& c, int64_t elapsed_ms, bool final) override;
  void JobEnded(const RunTotals& t, int exit_status) override;

 private:
  Settings s_;
  std::FILE* out_;
  std::FILE* err_;
  std::string job_id_;
  driver::Progress progress_;
  std::unique_ptr<GnuStatus> gnu_;  // Settings::gnu_status only
  JobOutput output_;
};

}  // namespace parallelagram::driver
