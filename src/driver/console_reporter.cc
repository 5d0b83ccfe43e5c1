#include "driver/console_reporter.h"

#include <nlohmann/json.hpp>

namespace parallelagram::driver {
namespace {

using json = nlohmann::json;

// Without --progress, plain progress lines (stderr not a terminal) come this often.
constexpr int64_t kQuietLineIntervalMs = 5000;

Progress::Mode ModeOf(const ConsoleReporter::Settings& s) {
  if (s.output.quiet || s.gnu_status != ConsoleReporter::Settings::Gnu::kNone) {
    return Progress::Mode::kOff;
  }
  return s.err_is_tty ? Progress::Mode::kTty : Progress::Mode::kLines;
}

}  // namespace

ConsoleReporter::ConsoleReporter(Settings s, std::FILE* out, std::FILE* err)
    : s_(s),
      out_(out),
      err_(err),
      progress_(ModeOf(s), err, s.progress ? 1000 : kQuietLineIntervalMs, s.progress),
      output_(s.output, out, err, progress_) {
  if (s.gnu_status != Settings::Gnu::kNone && !s.output.quiet) {
    gnu_ = std::make_unique<GnuStatus>(
        s.gnu_status == Settings::Gnu::kEta ? GnuStatus::Kind::kEta : GnuStatus::Kind::kBar, err,
        s.host, s.cores, s.columns);
  }
}

void ConsoleReporter::JobStarted(const std::string& job_id, int64_t known_total, int jobs,
                                 const std::string& state_dir) {
  job_id_ = job_id;
  if (gnu_) gnu_->Start(jobs);
  if (!s_.output.json) return;
  output_.Emit({{"event", "job"},
                {"job_id", job_id},
                {"total", known_total >= 0 ? json(known_total) : json(nullptr)},
                {"jobs", jobs},
                {"state_dir", state_dir}});
}

void ConsoleReporter::TaskStarted(int64_t seq, int attempt, int slot, bool duplicate) {
  if (!s_.output.json) return;
  output_.Emit({{"event", duplicate ? "speculate" : "start"},
                {"seq", seq},
                {"attempt", attempt},
                {"slot", slot}});
}

void ConsoleReporter::TaskRetrying(const TaskRecord& a) {
  output_.AttemptEnded(a.seq);
  if (!s_.output.json) return;
  output_.Emit({{"event", "retry"},
                {"seq", a.seq},
                {"attempt", a.attempt},
                {"outcome", OutcomeName(a.result.outcome)},
                {"exit_code", a.result.exit_code ? json(*a.result.exit_code) : json(nullptr)},
                {"error", a.result.error}});
}

void ConsoleReporter::TaskFinished(std::shared_ptr<const TaskRecord> rec, const FinishedTask& ft) {
  std::string warning = TaskWarning(*rec, ft.command);
  json event;
  if (s_.output.json) {
    event = ResultLine(job_id_, ft, "", "");
    event["event"] = "finish";
  }
  output_.AddTask(std::move(rec), std::move(warning), std::move(event), ft.tag, ft.stdout_path);
}

void ConsoleReporter::SetupFailed(const Status& s) {
  std::fprintf(err_, "parallelagram run: %s\n", s.message().c_str());
  std::fflush(err_);
}

void ConsoleReporter::Notice(const std::string& line) {
  progress_.Clear();
  std::fprintf(err_, "parallelagram: %s\n", line.c_str());
  std::fflush(err_);
  progress_.Redraw();
}

void ConsoleReporter::Progress(const ProgressCounts& c, int64_t elapsed_ms, bool final) {
  if (!final) {
    if (gnu_) gnu_->Update(c, elapsed_ms);
    progress_.Update(c, elapsed_ms);
    return;
  }
  output_.Flush();
  if (gnu_) gnu_->Finish(c, elapsed_ms);
  progress_.Finish(c, elapsed_ms);
}

void ConsoleReporter::JobEnded(const RunTotals& t, int exit_status) {
  if (!s_.output.json || job_id_.empty()) return;  // never started: no events
  output_.Emit({{"event", "done"},
                {"job_id", job_id_},
                {"succeeded", t.succeeded},
                {"failed", t.failed},
                {"not_run", t.not_run},
                {"exit_status", exit_status},
                {"cost_usd", t.cost_usd},
                {"elapsed_s", static_cast<double>(t.elapsed_ms) / 1000.0}});
}

}  // namespace parallelagram::driver
