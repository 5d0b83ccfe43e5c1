// LiveOutput: prints task output while tasks run, as GNU parallel's --line-buffer and
// -u/--ungroup do (the console's printer; JobOutput feeds it).
//
// kLines (--line-buffer): a stream's bytes are printed up to its last complete line; the rest
// waits for its newline or the end of the task, so lines of different tasks may interleave but
// never mix within a line. With keep_order (-k) only the "head" task (the lowest one that has
// not ended: the first task at the start) prints live; the others' output is held until their
// turn comes, when what they held is printed and they go on live (GNU parallel 20221122 does
// the same).
// kRaw (-u): bytes are printed as they come, possibly mid-line; keep_order is ignored (as GNU's
// -u ignores -k).
// A non-empty tag (--tag, --tagstring; its TAB included) starts every line, a line continued by
// later bytes keeping its one tag. The progress display is cleared before each write and redrawn
// after. Not thread-safe; loop thread only. Borrows the streams and `progress`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "driver/progress.h"

namespace parallelagram::driver {

class LiveOutput {
 public:
  enum class Mode { kLines, kRaw };
  LiveOutput(Mode mode, bool keep_order, std::FILE* out, std::FILE* err, Progress& progress)
      : mode_(mode), keep_order_(keep_order && mode == Mode::kLines), progress_(progress) {
    files_[0] = out;
    files_[1] = err;
  }

  // Task `seq` wrote `data` on stdout or stderr; `tag` ("" none) is its tag, TAB included.
  void Data(int64_t seq, bool is_stderr, const std::string& data, const std::string& tag);
  // An attempt of task `seq` ended and the task runs again: its unfinished lines are printed
  // as they stand (no newline added), so they mix with no other task's line.
  void AttemptEnded(int64_t seq);
  // Task `seq` ended (with keep_order, called in task order: see OrderedOutput). Prints what it
  // still holds, then `whole_stdout` / `whole_stderr` (its result) for a stream that carried
  // no live data (a task whose worker streamed nothing, as on AWS), then its unfinished lines.
  // With keep_order the next task becomes the head and prints what it held.
  void End(int64_t seq, const std::string& whole_stdout, const std::string& whole_stderr,
           const std::string& tag);

 private:
  struct Task {
    std::string tag;
    std::string partial[2];                          // kLines: bytes after the last newline
    bool mid_line[2] = {false, false};               // kRaw: the last byte was not a newline
    bool seen[2] = {false, false};                   // live data came on this stream
    std::vector<std::pair<bool, std::string>> held;  // keep_order: not the head yet
  };
  void Print(Task& t, bool is_stderr, const std::string& data);
  void EndLines(Task& t);
  void Release(int64_t seq);  // prints seq's held output; it is now live
  void Write(bool is_stderr, const std::string& data);

  Mode mode_;
  bool keep_order_;
  std::FILE* files_[2];
  Progress& progress_;
  int64_t head_ = 1;
  std::map<int64_t, Task> tasks_;
};

}  // namespace parallelagram::driver
