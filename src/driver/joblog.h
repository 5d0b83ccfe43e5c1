// --joblog FILE in GNU parallel's exact format: a header line, then one tab-separated line per
// finished task:
//   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
// Starttime is epoch seconds with 3 decimals, JobRuntime seconds as %10.3f, Send the stdin
// bytes, Receive the stdout bytes. A task killed at its timeout logs Exitval -1 and Signal
// 15, as GNU parallel does; a task killed by a signal logs Exitval 0 (or its code) and the
// signal. Lines are written (and flushed) as tasks finish. Not thread-safe.
#pragma once

#include <cstdio>
#include <string>

#include "driver/scheduler.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// The header line, with its newline.
std::string JoblogHeader();
// One line for a finished task, with its newline. `host` is ":" for the local backend.
std::string JoblogLine(const TaskRecord& rec, const std::string& host, int64_t send_bytes,
                       const std::string& command);

class JoblogWriter {
 public:
  ~JoblogWriter();
  // Creates (truncates) `path` and writes the header; with `append` (a resumed job) adds to
  // what is there (the header only when the file is empty). IoError naming the path.
  Status Open(const std::string& path, bool append = false);
  void Write(const std::string& line);
  bool is_open() const { return f_ != nullptr; }

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace parallelagram::driver
