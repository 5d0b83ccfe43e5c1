#include "driver/joblog.h"

#include <cmath>

#include <fmt/format.h>

#include "driver/state_dir.h"

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

std::string JoblogLineFromManifest(const nlohmann::json& m, const std::string& host) {
  TaskRecord rec;
  rec.seq = m.value("seq", int64_t{0});
  rec.start_epoch_ms = std::llround(m.value("start", 0.0) * 1000.0);
  rec.runtime_ms = std::llround(m.value("runtime_s", 0.0) * 1000.0);
  TaskResult& r = rec.result;
  r.outcome = ParseOutcome(m.value("outcome", std::string())).value_or(Outcome::kCrashed);
  if (m.contains("exit_code") && m["exit_code"].is_number_integer()) {
    r.exit_code = m["exit_code"].get<int>();
  }
  if (m.contains("signal") && m["signal"].is_number_integer()) r.signal = m["signal"].get<int>();
  r.stdout_bytes = m.value("stdout_bytes", decltype(r.stdout_bytes){0});
  return JoblogLine(rec, host, 0 /* no stdin is sent */, m.value("command", std::string()));
}

Status JoblogWriter::Open(const std::string& path, bool append) {
  PG_RETURN_IF_ERROR(f_.Open(path, /*truncate=*/!append).WithContext("--joblog"));
  if (!append || f_.size() == 0) return Write(JoblogHeader());
  return Status::Ok();
}

Status JoblogWriter::Write(const std::string& line) { return f_.Append(line); }

Status JoblogWriter::AlignWithManifest(const std::string& state_dir, const std::string& host) {
  const std::string path = f_.path();
  auto seq_of = [](std::string_view line) -> int64_t {
    int64_t seq = 0;
    size_t i = 0;
    for (; i < line.size() && i < 18 && line[i] >= '0' && line[i] <= '9'; ++i) {
      seq = seq * 10 + (line[i] - '0');
    }
    return i > 0 && i < line.size() && line[i] == '\t' ? seq : 0;
  };
  auto make = [&host](const nlohmann::json& m) { return JoblogLineFromManifest(m, host); };
  f_.Close();
  Status aligned = driver::AlignWithManifest(state_dir, path, JoblogHeader(), seq_of, make);
  Status reopened = f_.Open(path, /*truncate=*/false);
  PG_RETURN_IF_ERROR(aligned);
  return reopened;
}

}  // namespace parallelagram::driver
