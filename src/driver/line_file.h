// LineFile: a file that whole lines are appended to, each with one write(2), for the records
// a SIGKILL must not tear or delay: the results manifest (JobState), --results
// DIR/results.jsonl (ResultsDir) and --joblog (JoblogWriter). Nothing is buffered in the
// process: once Append returns Ok the line is in the kernel and survives SIGKILL of the
// driver (not a power loss; Sync() is fdatasync).
//
// A write that fails or stops short (disk full) is cut back off (ftruncate to the size before
// it, for a regular file), so no torn line is left for the next line to be glued to; a line
// torn by a crash mid-write is cut off by TruncateTornTail (journal.h) before a resumed run
// appends.
// Errors: IoError naming the path. Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "parallelagram/status.h"

namespace parallelagram::driver {

class LineFile {
 public:
  LineFile() = default;
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  ~LineFile() { Close(); }

  // Opens `path` for appending, creating it; with `truncate` it is emptied first. Closes
  // what was open before.
  Status Open(const std::string& path, bool truncate);
  void Close();
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // The bytes in the file (what was there at Open plus what Append wrote).
  int64_t size() const { return size_; }

  // Writes `line` (ending in '\n') with one write(2), continuing after a short write.
  Status Append(std::string_view line);
  // fdatasync.
  void Sync();

 private:
  int fd_ = -1;
  int64_t size_ = 0;
  std::string path_;
};

}  // namespace parallelagram::driver
