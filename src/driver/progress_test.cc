#include "driver/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace parallelagram::driver {
namespace {

std::string ReadAll(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
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
  std::FILE* f = std::tmpfile();
  {
    Progress p(Progress::Mode::kLines, f, 5000, /*eager=*/false);
    p.Update(Counts(1, 4), 100);
    p.Update(Counts(4, 4), 900);
    p.Finish(Counts(4, 4), 1000);
  }
  EXPECT_EQ(ReadAll(f), "");
  std::fclose(f);
}

TEST(Progress, QuietLinesComeEveryIntervalThenAFinalLine) {
  std::FILE* f = std::tmpfile();
  Progress p(Progress::Mode::kLines, f, 5000, /*eager=*/false);
  p.Update(Counts(1, 4), 4000);   // too early
  p.Update(Counts(2, 4), 5000);   // first line
  p.Update(Counts(3, 4), 6000);   // within the interval
  p.Update(Counts(3, 4), 10000);  // second line
  p.Finish(Counts(4, 4), 11000);
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "parallelagram: [2/4] 2 running, 2 done, 0 failed | 0.4/s | ETA 5s\n"
            "parallelagram: [3/4] 2 running, 3 done, 0 failed | 0.3/s | ETA 3s\n"
            "parallelagram: [4/4] 0 running, 4 done, 0 failed | 0.4/s\n");
}

TEST(Progress, EagerLinesStartAtOnceAndAlwaysFinish) {
  std::FILE* f = std::tmpfile();
  Progress p(Progress::Mode::kLines, f, 1000, /*eager=*/true);
  p.Update(Counts(0, 2), 0);
  p.Finish(Counts(2, 2), 500);
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "parallelagram: [0/2] 2 running, 0 done, 0 failed\n"
            "parallelagram: [2/2] 0 running, 2 done, 0 failed | 4.0/s\n");
}

TEST(Progress, TerminalRedrawsOneLineInPlace) {
  std::FILE* f = std::tmpfile();
  Progress p(Progress::Mode::kTty, f);
  p.Update(Counts(1, 2), 1000);
  p.Clear();
  std::fputs("task output\n", f);
  p.Redraw();
  p.Finish(Counts(2, 2), 2000);
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_EQ(out,
            "\r\033[K[1/2] 2 running, 1 done, 0 failed | 1.0/s | ETA 1s"
            "\r\033[Ktask output\n"
            "\r\033[K[1/2] 2 running, 1 done, 0 failed | 1.0/s | ETA 1s"
            "\r\033[K[2/2] 0 running, 2 done, 0 failed | 1.0/s\n");
}

TEST(Progress, OffPrintsNothing) {
  std::FILE* f = std::tmpfile();
  Progress p(Progress::Mode::kOff, f);
  p.Update(Counts(1, 2), 5000, /*force=*/true);
  p.Finish(Counts(2, 2), 6000);
  EXPECT_EQ(ReadAll(f), "");
  std::fclose(f);
}

}  // namespace
}  // namespace parallelagram::driver
