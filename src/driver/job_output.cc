#include "driver/job_output.h"

#include <fmt/format.h>

#include <utility>

#include "common/json_text.h"
#include "driver/job_record.h"

namespace parallelagram::driver {

void WriteAll(std::FILE* f, const std::string& data) {
  if (!data.empty()) std::fwrite(data.data(), 1, data.size(), f);
}

std::string TagLines(const std::string& data, const std::string& tag) {
  if (tag.empty() || data.empty()) return data;
  std::string out;
  out.reserve(data.size() + (tag.size() + 1) * 8);
  size_t at = 0;
  while (at < data.size()) {
    size_t nl = data.find('\n', at);
    const size_t end = nl == std::string::npos ? data.size() : nl + 1;
    out += tag;
    out.append(data, at, end - at);
    at = end;
  }
  return out;
}

std::string TaskWarning(const TaskRecord& rec, const std::string& command) {
  const TaskResult& r = rec.result;
  std::string what;
  switch (r.outcome) {
    case Outcome::kSucceeded:
    case Outcome::kFailed:
      // A process that ran and exited non-zero said why itself (its stderr). One that never
      // started (not found, not executable, argument list too long: the worker reports 127 or
      // 126 with its reason) would otherwise fail silently.
      if (r.error.empty() ||
          (r.exit_code && (*r.exit_code == 0 || r.error.rfind("exited with status", 0) == 0))) {
        return "";
      }
      what = "could not run: " + r.error;
      break;
    case Outcome::kTimedOut:
      what = "was killed because it timed out";
      break;
    case Outcome::kOutOfMemory:
      what = "ran out of memory (raise --memory)";
      break;
    case Outcome::kCrashed:
      what = r.signal ? fmt::format("was killed by signal {}", *r.signal) : "crashed: " + r.error;
      break;
    default:
      what = std::string(OutcomeName(r.outcome)) + ": " + r.error;
  }
  std::string cmd = command.size() > 200 ? command.substr(0, 200) + "..." : command;
  // One line, never cut: a NUL, a newline or a byte that is not UTF-8 shows as \xNN.
  return fmt::format("parallelagram: task {} {}: {}\n", rec.seq, EscapeForMessage(what),
                     EscapeForMessage(cmd));
}

void JobOutput::Emit(const nlohmann::json& j) {
  std::string s = JsonLine(j);
  s += '\n';
  WriteAll(out_, s);
  std::fflush(out_);
}

void JobOutput::Say(const std::string& what, const char* action) {
  if (settings_.json) Emit({{"event", "interrupt"}, {"action", action}, {"message", what}});
  progress_.Clear();
  std::fprintf(err_, "parallelagram: %s\n", what.c_str());
  std::fflush(err_);
  progress_.Redraw();
}

void JobOutput::Report(const Status& s) {
  if (!s.ok() && !settings_.quiet) {
    progress_.Clear();
    std::fprintf(err_, "parallelagram: %s\n", s.message().c_str());
  }
}

void JobOutput::Halting(const std::string& why) {
  if (settings_.json) Emit({{"event", "halt"}, {"reason", why}});
  if (!settings_.quiet) {
    progress_.Clear();
    std::fprintf(err_, "parallelagram: halting (%s, --halt %s): %s\n", why.c_str(),
                 settings_.halt_now ? "now" : "soon",
                 settings_.halt_now ? "running tasks are abandoned"
                                    : "waiting for running tasks, starting no new ones");
    progress_.Redraw();
  }
}

void JobOutput::AddTask(std::shared_ptr<const TaskRecord> rec, std::string warning,
                        nlohmann::json event, std::string tag, std::string stdout_path) {
  const int64_t seq = rec->seq;
  ordered_.Add(seq,
               [this, rec = std::move(rec), warning = std::move(warning), event = std::move(event),
                tag = std::move(tag), stdout_path = std::move(stdout_path)] {
                 progress_.Clear();
                 if (settings_.json) {
                   Emit(event);
                 } else if (live_) {
                   live_->End(rec->seq, rec->result.stdout_data, rec->result.stderr_data, tag);
                 } else if (settings_.files) {
                   WriteAll(out_, stdout_path + "\n");
                   std::fflush(out_);
                   WriteAll(err_, TagLines(rec->result.stderr_data, tag));
                 } else {
                   WriteAll(out_, TagLines(rec->result.stdout_data, tag));
                   std::fflush(out_);
                   WriteAll(err_, TagLines(rec->result.stderr_data, tag));
                 }
                 if (!warning.empty() && !settings_.quiet) std::fputs(warning.c_str(), err_);
                 std::fflush(err_);
                 progress_.Redraw();
               });
}

}  // namespace parallelagram::driver
