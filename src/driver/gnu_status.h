// GnuStatus: GNU parallel's --eta and --bar status displays on stderr, in its format
// (parallel 20221122: init_progress, progress, compute_eta and bar), driven by the job's
// progress counts. Only prints: it reads counters and never schedules (ninja style).
//
// --eta, at the start:
//   "\nComputers / CPU cores / Max jobs to run\n1:HOST / CORES / JOBS\n"
//   "\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
// then on each update "\r" and the status line, and at the end "\r", the status and "\n":
//   "ETA: 4s Left: 3 AVG: 0.50s  HOST:2/2/100%/0.5s "
// where ETA is Left times the smoothed average seconds per completed task (GNU's smoothing,
// which keeps the last ETA when it would rise by less than 10%), AVG the seconds since the
// first completion per completed task, and after HOST: running/completed/% of started
// tasks/seconds since the start per completed task. HOST is "local" on the local backend
// (GNU's name for this computer), else the backend's name; CORES is "-" when unknown.
// --bar, on each update (no header; the final one ends with "\n"):
//   "\r" + "#   ETA sec ARGS" padded to the width + "\r" + PCT + "\r" + ESC[7m + the bar text
//   "PCT% DONE:LEFT=ETA ARGS" padded to the width, with ESC[0m inserted at width*done/total
//   (the reverse-video part is the bar) + ESC[0m
// where ARGS are the newest task's inputs, PCT in the first place is Perl's print of the
// percentage (up to 15 significant digits) and ETA in the bar text is GNU's d/h/m/s form
// (1m05s). The width is the terminal's columns (80 when stderr is not a terminal, as GNU).
// A plain line (no terminal) is not rate-limited beyond the job's progress ticks.
// Not thread-safe; loop thread only. Does not own `out`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "driver/progress.h"

namespace parallelagram::driver {

// GNU's seconds_to_time_units: "5s", "1m05s", "2h00m05s", "1d02h00m05s".
std::string GnuTimeUnits(int64_t seconds);

class GnuStatus {
 public:
  enum class Kind { kEta, kBar };
  // `cores` <= 0 prints "-"; `width` is the terminal's columns.
  GnuStatus(Kind kind, std::FILE* out, std::string host, int cores, int width = 80)
      : kind_(kind), out_(out), host_(std::move(host)), cores_(cores), width_(width) {}
  // The job dispatches with at most `jobs` tasks at a time: --eta's header.
  void Start(int jobs);
  // The current state (a status line, starting with "\r").
  void Update(const ProgressCounts& c, int64_t elapsed_ms);
  // The final state, ending the line.
  void Finish(const ProgressCounts& c, int64_t elapsed_ms);

  // The status line for `c` after `elapsed_ms`, without the leading "\r" (exposed for tests;
  // it advances the ETA smoothing as an update does).
  std::string Status(const ProgressCounts& c, int64_t elapsed_ms);

 private:
  struct Eta {
    int64_t total = 0, completed = 0, left = 0;
    double pct = 0, avg_s = 0;
    int64_t eta_s = 0;
  };
  Eta ComputeEta(const ProgressCounts& c, int64_t elapsed_ms);
  std::string EtaLine(const ProgressCounts& c, int64_t elapsed_ms);
  std::string BarLine(const ProgressCounts& c, int64_t elapsed_ms);

  Kind kind_;
  std::FILE* out_;
  std::string host_;
  int cores_;
  int width_;
  bool started_ = false;
  // GNU's compute_eta state.
  int64_t first_completed_ms_ = -1;
  double smoothed_avg_s_ = 0;
  int64_t last_eta_s_ = 0;
};

// The terminal's columns when `f` is a terminal, else 80 (GNU's default).
int TerminalColumns(std::FILE* f);

}  // namespace parallelagram::driver
