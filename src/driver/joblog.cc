#include "driver/joblog.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace parallelagram::driver {

std::string JoblogHeader() {
  return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
}

std::string JoblogLine(const TaskRecord& rec, const std::string& host, int64_t send_bytes,
                       const std::string& command) {
  const TaskResult& r = rec.result;
  int exitval = r.exit_code.value_or(0);
  int sig = r.signal.value_or(0);
  if (r.outcome == Outcome::kTimedOut) {
    exitval = -1;
    if (sig == 0) sig = 15;
  } else if (!r.exit_code && !r.signal && r.outcome != Outcome::kSucceeded) {
    exitval = -1;  // never ran to an exit status (e.g. staging failed, worker died)
  }
  // The command may hold newlines; the joblog is one line per task.
  std::string cmd = command;
  for (char& c : cmd) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return fmt::format("{}\t{}\t{:.3f}\t{:10.3f}\t{}\t{}\t{}\t{}\t{}\n", rec.seq, host,
                     static_cast<double>(rec.start_epoch_ms) / 1000.0,
                     static_cast<double>(rec.runtime_ms) / 1000.0, send_bytes, r.stdout_bytes,
                     exitval, sig, cmd);
}

JoblogWriter::~JoblogWriter() {
  if (f_) std::fclose(f_);
}

Status JoblogWriter::Open(const std::string& path, bool append) {
  f_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!f_) {
    return Status::IoError("cannot write --joblog '" + path + "': " + std::strerror(errno));
  }
  if (append) std::fseek(f_, 0, SEEK_END);
  if (!append || std::ftell(f_) == 0) Write(JoblogHeader());
  return Status::Ok();
}

void JoblogWriter::Write(const std::string& line) {
  if (!f_) return;
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

}  // namespace parallelagram::driver
