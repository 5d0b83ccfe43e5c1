#include "driver/progress.h"

#include <fmt/format.h>

#include "driver/prices.h"

namespace parallelagram::driver {

std::string FormatProgress(const ProgressCounts& c, int64_t elapsed_ms) {
  int64_t done = c.succeeded + c.failed;
  int width = static_cast<int>(std::to_string(c.total).size());
  std::string s = fmt::format("[{:>{}}/{}] {} running, {} done, {} failed", done, width, c.total,
                              c.running, done, c.failed);
  if (c.retried) s += fmt::format(", {} retried", c.retried);
  if (c.cost_usd >= 0) s += " | " + FormatUsd(c.cost_usd);
  double secs = static_cast<double>(elapsed_ms) / 1000.0;
  if (secs > 0.05 && done > 0) {
    double rate = static_cast<double>(done) / secs;
    s += fmt::format(" | {:.1f}/s", rate);
    int64_t left = c.total - done;
    if (left > 0) {
      double eta = static_cast<double>(left) / rate;
      if (eta >= 3600) {
        s += fmt::format(" | ETA {}h{:02}m", static_cast<int64_t>(eta) / 3600,
                         (static_cast<int64_t>(eta) % 3600) / 60);
      } else if (eta >= 60) {
        s += fmt::format(" | ETA {}m{:02}s", static_cast<int64_t>(eta) / 60,
                         static_cast<int64_t>(eta) % 60);
      } else {
        s += fmt::format(" | ETA {:.0f}s", eta);
      }
    }
  }
  return s;
}

void Progress::Update(const ProgressCounts& c, int64_t elapsed_ms, bool force) {
  if (mode_ == Mode::kOff) return;
  std::string text = FormatProgress(c, elapsed_ms);
  if (mode_ == Mode::kTty) {
    if (text == last_ && shown_) return;
    last_ = text;
    std::fprintf(out_, "\r\033[K%s", text.c_str());
    std::fflush(out_);
    shown_ = true;
    return;
  }
  if (!force && elapsed_ms - last_line_ms_ < interval_ms_) return;
  if (text == last_) return;
  last_ = text;
  last_line_ms_ = elapsed_ms;
  ++lines_;
  std::fprintf(out_, "parallelagram: %s\n", text.c_str());
  std::fflush(out_);
}

void Progress::Clear() {
  if (mode_ != Mode::kTty || !shown_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  shown_ = false;
}

void Progress::Redraw() {
  if (mode_ != Mode::kTty || shown_ || last_.empty()) return;
  std::fprintf(out_, "\r\033[K%s", last_.c_str());
  std::fflush(out_);
  shown_ = true;
}

void Progress::Finish(const ProgressCounts& c, int64_t elapsed_ms) {
  if (mode_ == Mode::kOff || (mode_ == Mode::kLines && !eager_ && lines_ == 0)) return;
  std::string text = FormatProgress(c, elapsed_ms);
  if (mode_ == Mode::kTty) {
    std::fprintf(out_, "\r\033[K%s\n", text.c_str());
  } else {
    std::fprintf(out_, "parallelagram: %s\n", text.c_str());
  }
  std::fflush(out_);
  shown_ = false;
}

}  // namespace parallelagram::driver
