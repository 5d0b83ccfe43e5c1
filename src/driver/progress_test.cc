#include "driver/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

// Runs `fn` on a Progress writing to a temporary file; returns what it wrote.
std::string Output(Progress::Mode mode, int64_t interval_ms, bool eager,
                   const std::function<void(Progress&, std::FILE*)>& fn) {
  std::FILE* f = std::tmpfile();
  {
    Progress p(mode, f, interval_ms, eager);
    fn(p, f);
  }
  return testing::ReadAndClose(f);
}

ProgressCounts Counts(int64_t done, int64_t total) {
  ProgressCounts c;
  c.total = total;
  c.succeeded = done;
  c.running = done < total ? 2 : 0;
  return c;
}

TEST(Progress, FormatShowsCountsRateAndEta) {
  ProgressCounts c{3000, 2, 400, 12, 1};
  EXPECT_EQ(FormatProgress(c, 2000),
            "[ 412/3000] 2 running, 412 done, 12 failed, 1 retried | 206.0/s | ETA 13s");
  EXPECT_EQ(FormatProgress(ProgressCounts{5, 0, 0, 0, 0}, 0), "[0/5] 0 running, 0 done, 0 failed");
}

TEST(Progress, QuietLinesWaitAnIntervalAndSkipTheFinalLineForShortJobs) {
  EXPECT_EQ(Output(Progress::Mode::kLines, 5000, /*eager=*/false,
                   [](Progress& p, std::FILE*) {
                     p.Update(Counts(1, 4), 100);
                     p.Update(Counts(4, 4), 900);
                     p.Finish(Counts(4, 4), 1000);
                   }),
            "");
}

TEST(Progress, QuietLinesComeEveryIntervalThenAFinalLine) {
  EXPECT_EQ(Output(Progress::Mode::kLines, 5000, /*eager=*/false,
                   [](Progress& p, std::FILE*) {
                     p.Update(Counts(1, 4), 4000);   // too early
                     p.Update(Counts(2, 4), 5000);   // first line
                     p.Update(Counts(3, 4), 6000);   // within the interval
                     p.Update(Counts(3, 4), 10000);  // second line
                     p.Finish(Counts(4, 4), 11000);
                   }),
            "parallelagram: [2/4] 2 running, 2 done, 0 failed | 0.4/s | ETA 5s\n"
            "parallelagram: [3/4] 2 running, 3 done, 0 failed | 0.3/s | ETA 3s\n"
            "parallelagram: [4/4] 0 running, 4 done, 0 failed | 0.4/s\n");
}

TEST(Progress, EagerLinesStartAtOnceAndAlwaysFinish) {
  EXPECT_EQ(Output(Progress::Mode::kLines, 1000, /*eager=*/true,
                   [](Progress& p, std::FILE*) {
                     p.Update(Counts(0, 2), 0);
                     p.Finish(Counts(2, 2), 500);
                   }),
            "parallelagram: [0/2] 2 running, 0 done, 0 failed\n"
            "parallelagram: [2/2] 0 running, 2 done, 0 failed | 4.0/s\n");
}

TEST(Progress, TerminalRedrawsOneLineInPlace) {
  EXPECT_EQ(Output(Progress::Mode::kTty, 1000, /*eager=*/true,
                   [](Progress& p, std::FILE* f) {
                     p.Update(Counts(1, 2), 1000);
                     p.Clear();
                     std::fputs("task output\n", f);
                     p.Redraw();
                     p.Finish(Counts(2, 2), 2000);
                   }),
            "\r\033[K[1/2] 2 running, 1 done, 0 failed | 1.0/s | ETA 1s"
            "\r\033[Ktask output\n"
            "\r\033[K[1/2] 2 running, 1 done, 0 failed | 1.0/s | ETA 1s"
            "\r\033[K[2/2] 0 running, 2 done, 0 failed | 1.0/s\n");
}

TEST(Progress, OffPrintsNothing) {
  EXPECT_EQ(Output(Progress::Mode::kOff, 1000, /*eager=*/true,
                   [](Progress& p, std::FILE*) {
                     p.Update(Counts(1, 2), 5000, /*force=*/true);
                     p.Finish(Counts(2, 2), 6000);
                   }),
            "");
}

}  // namespace
}  // namespace parallelagram::driver
