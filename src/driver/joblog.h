// --joblog FILE in GNU parallel's exact format: a header line, then one tab-separated line per
// finished task:
//   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
// Starttime is epoch seconds with 3 decimals, JobRuntime seconds as %10.3f, Send the stdin
// bytes, Receive the stdout bytes. A task killed at its timeout logs Exitval -1 and Signal
// 15, as GNU parallel does; a task killed by a signal logs Exitval 0 (or its code) and the
// signal. Lines are written (one write(2) each) as tasks finish, each after the task's
// manifest line; a resumed run first brings the file back in line with the manifest
// (AlignWithManifest). Not thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "driver/line_file.h"
#include "driver/scheduler.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// The header line, with its newline.
std::string JoblogHeader();
// One line for a finished task, with its newline. `host` is ":" for the local backend.
std::string JoblogLine(const TaskRecord& rec, const std::string& host, int64_t send_bytes,
                       const std::string& command);
// The line JoblogLine wrote for the task of manifest line `m` (ResultLine, job_record.h).
std::string JoblogLineFromManifest(const nlohmann::json& m, const std::string& host);

class JoblogWriter {
 public:
  // Creates (truncates) `path` and writes the header; with `append` (a resumed job) adds to
  // what is there (the header only when the file is empty). IoError naming the path.
  Status Open(const std::string& path, bool append = false);
  // Appends `lines` (whole lines, each ending in '\n') with one write(2).
  Status Write(const std::string& lines);
  bool is_open() const { return f_.is_open(); }
  // For a resumed job, before anything is appended: the file made to hold the header and
  // exactly the tasks of the state manifest in STATE_DIR (AlignWithManifest, state_dir.h; a
  // missing line is made by JoblogLineFromManifest with `host`), then reopened.
  Status AlignWithManifest(const std::string& state_dir, const std::string& host);

 private:
  LineFile f_;
};

}  // namespace parallelagram::driver
