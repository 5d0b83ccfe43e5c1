// JobOutput: everything `parallelagram run` prints while a job runs, on the run's out and err
// streams, around the progress display (cleared before a line, redrawn after): each finished
// task's output through OrderedOutput (whole; in completion order, or with -k in input
// order), the --json event stream (one object a line on out), and one-line notices and
// errors on err ("parallelagram: ...").
// Not thread-safe; loop thread only. Does not own the streams, `settings` or `progress`, which must
// outlive it.
#pragma once

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "driver/live_output.h"
#include "driver/ordered_output.h"
#include "driver/progress.h"
#include "driver/scheduler.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// Writes `data` to `f` (nothing when empty); does not flush.
void WriteAll(std::FILE* f, const std::string& data);
// `data` with `tag` (its TAB included: "a 1\t") before each of its lines (a last line
// without '\n' too), as GNU parallel's --tag; `data` itself when `tag` is empty (no --tag).
// An empty value's tag is "\t", as GNU parallel prints it.
std::string TagLines(const std::string& data, const std::string& tag);

// The line printed on err for a task that did not succeed in a way its own output may not
// show ("parallelagram: task SEQ WHAT: COMMAND\n", the command cut at 200 characters), or ""
// (it succeeded, or exited non-zero by itself).
std::string TaskWarning(const TaskRecord& rec, const std::string& command);

class JobOutput {
 public:
  // What it reads of the job's settings.
  struct Settings {
    bool keep_order = false;  // -k
    bool json = false;        // --json
    bool quiet = false;       // -q
    bool halt_now = false;    // --halt now,...
    bool files = false;       // --files: the stdout file's path instead of the output
    // --line-buffer / -u: output printed as it comes (LiveOutput), not whole at the end.
    enum class Live { kOff, kLines, kRaw } live = Live::kOff;
  };
  JobOutput(Settings settings, std::FILE* out, std::FILE* err, Progress& progress)
      : settings_(settings),
        out_(out),
        err_(err),
        progress_(progress),
        ordered_(settings.keep_order) {
    if (settings.live != Settings::Live::kOff) {
      live_ = std::make_unique<LiveOutput>(settings.live == Settings::Live::kLines
                                               ? LiveOutput::Mode::kLines
                                               : LiveOutput::Mode::kRaw,
                                           settings.keep_order, out, err, progress);
    }
  }

  // Writes `j` as one line on out and flushes (the --json event stream).
  void Emit(const nlohmann::json& j);
  // "parallelagram: WHAT" on err; with --json first an "interrupt" event naming `action`.
  void Say(const std::string& what, const char* action);
  // "parallelagram: MESSAGE" on err for a failed `s`; nothing when `s` is OK or with --quiet.
  void Report(const Status& s);
  // --halt met: a "halt" event with --json; unless --quiet, a line saying why and what
  // happens to the running tasks.
  void Halting(const std::string& why);
  // Prints task `rec`'s stdout and stderr (with --json: `event` instead; with live output what
  // LiveOutput::End prints) and `warning` (unless --quiet) when its turn comes in
  // OrderedOutput.
  // `tag` ("" none) starts every line of its output, then a TAB (--tag); with --files,
  // `stdout_path` is printed instead of the output.
  void AddTask(std::shared_ptr<const TaskRecord> rec, std::string warning, nlohmann::json event,
               std::string tag = "", std::string stdout_path = "");
  // Prints every task output still held (a halted job's gaps are skipped).
  void Flush() { ordered_.Flush(); }
  // Live output (Settings::live): task `seq` wrote `data`; an attempt of it will run again.
  // Ignored when output is not live.
  void Live(int64_t seq, bool is_stderr, const std::string& data, const std::string& tag) {
    if (live_) live_->Data(seq, is_stderr, data, tag);
  }
  void AttemptEnded(int64_t seq) {
    if (live_) live_->AttemptEnded(seq);
  }

 private:
  Settings settings_;
  std::FILE* out_;
  std::FILE* err_;
  Progress& progress_;
  OrderedOutput ordered_;
  std::unique_ptr<LiveOutput> live_;  // Settings::live only
};

}  // namespace parallelagram::driver
