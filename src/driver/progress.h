// The status display, separate from scheduling (ninja style). It only reads counters.
//
// On a terminal (mode kTty) it keeps one line on stderr, redrawn in place:
//   [ 412/3000] 2 running, 410 done, 3 failed, 1 retried | 180.2/s | ETA 14s
// Task output written meanwhile goes through Clear()/Redraw() so lines never interleave.
// In mode kLines (stderr is not a terminal) it prints the same text as plain lines, at most
// one per `line_interval_ms`. When `eager` (--progress) the first line comes at once and a
// final line always ends the run; otherwise the first line waits a full interval and the
// final line is printed only if a line was, so short jobs add nothing to stderr.
// In mode kOff it prints nothing.
// Not thread-safe; loop thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace parallelagram::driver {

struct ProgressCounts {
  int64_t total = 0;
  int64_t running = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t retried = 0;
  double cost_usd = -1;     // spent so far; < 0: not shown
  std::string newest_args;  // the inputs of the task started last, joined by spaces (--bar)
};

// The status text for `c` after `elapsed_ms` (no newline).
std::string FormatProgress(const ProgressCounts& c, int64_t elapsed_ms);

class Progress {
 public:
  enum class Mode { kOff, kTty, kLines };
  Progress(Mode mode, std::FILE* out, int64_t line_interval_ms = 1000, bool eager = true)
      : mode_(mode),
        out_(out),
        interval_ms_(line_interval_ms),
        eager_(eager),
        last_line_ms_(eager ? -line_interval_ms : 0) {}
  Mode mode() const { return mode_; }
  // Shows the current state (rate-limited in kLines mode unless `force`).
  void Update(const ProgressCounts& c, int64_t elapsed_ms, bool force = false);
  // kTty: erases the status line before other output; Redraw() puts it back.
  void Clear();
  void Redraw();
  // Final state, ending the line.
  void Finish(const ProgressCounts& c, int64_t elapsed_ms);

 private:
  Mode mode_;
  std::FILE* out_;
  std::string last_;
  bool shown_ = false;
  int64_t interval_ms_;
  bool eager_;
  int64_t last_line_ms_;
  int64_t lines_ = 0;  // plain lines printed
};

}  // namespace parallelagram::driver
