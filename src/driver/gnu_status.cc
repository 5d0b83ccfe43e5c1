#include "driver/gnu_status.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace parallelagram::driver {
namespace {

constexpr const char* kReverse = "\033[7m";
constexpr const char* kReset = "\033[0m";

// `s` cut to `width` characters (UTF-8 code points, as GNU's decoded substr) and padded with
// spaces to `width` (Perl's sprintf("%-Ws", substr(s, 0, W))).
std::string FitColumns(const std::string& s, int width) {
  std::string out;
  int cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool starts_char = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (starts_char && cols == width) break;
    if (starts_char) ++cols;
    out += s[i];
  }
  if (cols < width) out.append(static_cast<size_t>(width - cols), ' ');
  return out;
}

// The byte offset of character `col` in `s` (its size when shorter).
size_t ColumnOffset(const std::string& s, int col) {
  int cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (cols == col) return i;
    ++cols;
  }
  return s.size();
}

}  // namespace

std::string GnuTimeUnits(int64_t s) {
  const int64_t d = s / 86400;
  s -= d * 86400;
  const int64_t h = s / 3600;
  s -= h * 3600;
  const int64_t m = s / 60;
  s -= m * 60;
  if (d) return fmt::format("{}d{:02}h{:02}m{:02}s", d, h, m, s);
  if (h) return fmt::format("{}h{:02}m{:02}s", h, m, s);
  if (m) return fmt::format("{}m{:02}s", m, s);
  return fmt::format("{}s", s);
}

int TerminalColumns(std::FILE* f) {
  winsize ws{};
  if (f && ::isatty(::fileno(f)) == 1 && ::ioctl(::fileno(f), TIOCGWINSZ, &ws) == 0 &&
      ws.ws_col > 0) {
    return ws.ws_col;
  }
  return 80;
}

void GnuStatus::Start(int jobs) {
  if (started_) return;
  started_ = true;
  if (kind_ != Kind::kEta) return;
  const std::string cores = cores_ > 0 ? std::to_string(cores_) : "-";
  std::fprintf(out_,
               "\nComputers / CPU cores / Max jobs to run\n1:%s / %s / %d\n"
               "\nComputer:jobs running/jobs completed/%%of started jobs/Average seconds to "
               "complete\n",
               host_.c_str(), cores.c_str(), jobs);
  std::fflush(out_);
}

void GnuStatus::Update(const ProgressCounts& c, int64_t elapsed_ms) {
  std::string line = "\r" + Status(c, elapsed_ms);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void GnuStatus::Finish(const ProgressCounts& c, int64_t elapsed_ms) {
  std::string line = "\r" + Status(c, elapsed_ms) + "\n";
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::string GnuStatus::Status(const ProgressCounts& c, int64_t elapsed_ms) {
  return kind_ == Kind::kEta ? EtaLine(c, elapsed_ms) : BarLine(c, elapsed_ms);
}

GnuStatus::Eta GnuStatus::ComputeEta(const ProgressCounts& c, int64_t elapsed_ms) {
  Eta e;
  e.completed = c.succeeded + c.failed;
  e.total = std::max(c.total, e.completed);
  e.left = e.total - e.completed;
  if (e.completed == 0) return e;
  e.pct = std::min(static_cast<double>(e.completed) / static_cast<double>(e.total), 100.0);
  if (first_completed_ms_ < 0) first_completed_ms_ = elapsed_ms;
  const double passed_s = static_cast<double>(elapsed_ms - first_completed_ms_) / 1000.0;
  e.avg_s = passed_s / static_cast<double>(e.completed);
  if (smoothed_avg_s_ == 0) smoothed_avg_s_ = e.avg_s;
  smoothed_avg_s_ = (1 - e.pct) * smoothed_avg_s_ + e.pct * e.avg_s;
  e.eta_s = static_cast<int64_t>(static_cast<double>(e.left) * smoothed_avg_s_);
  if (static_cast<double>(e.eta_s) * 0.90 < static_cast<double>(last_eta_s_) &&
      last_eta_s_ < e.eta_s) {
    e.eta_s = last_eta_s_;  // rose by less than 10%: keep the last one
  } else {
    last_eta_s_ = e.eta_s;
  }
  return e;
}

std::string GnuStatus::EtaLine(const ProgressCounts& c, int64_t elapsed_ms) {
  const Eta e = ComputeEta(c, elapsed_ms);
  std::string s = fmt::format("ETA: {}s Left: {} AVG: {:.2f}s  ", e.eta_s, e.left, e.avg_s);
  const int64_t started = c.running + e.completed;
  if (started > 0) {
    const double per_task =
        e.completed ? static_cast<double>(elapsed_ms) / 1000.0 / static_cast<double>(e.completed)
                    : 0;
    s += fmt::format("{}:{}/{}/{}%/{:.1f}s ", host_, c.running, e.completed,
                     (c.running + e.completed) * 100 / started, per_task);
  }
  return s;
}

std::string GnuStatus::BarLine(const ProgressCounts& c, int64_t elapsed_ms) {
  const Eta e = ComputeEta(c, elapsed_ms);
  const double pct100 = e.pct * 100;
  const std::string text = fmt::format("{}% {}:{}={} {}", static_cast<int64_t>(pct100), e.completed,
                                       e.left, GnuTimeUnits(e.eta_s), c.newest_args);
  std::string bar = FitColumns(text, width_);
  bar.insert(ColumnOffset(bar, static_cast<int>(width_ * e.pct)), kReset);
  const std::string zenity =
      FitColumns(fmt::format("#   {} sec {}", e.eta_s, c.newest_args), width_);
  return "\r" + zenity + "\r" + fmt::format("{:.15g}", pct100) + "\r" + kReverse + bar + kReset;
}

}  // namespace parallelagram::driver
