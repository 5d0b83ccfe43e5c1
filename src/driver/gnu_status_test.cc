#include "driver/gnu_status.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

ProgressCounts Counts(int64_t total, int64_t running, int64_t done, std::string args = "") {
  ProgressCounts c;
  c.total = total;
  c.running = running;
  c.succeeded = done;
  c.newest_args = std::move(args);
  return c;
}

TEST(GnuTimeUnitsTest, AsGnuParallelsSecondsToTimeUnits) {
  EXPECT_EQ(GnuTimeUnits(0), "0s");
  EXPECT_EQ(GnuTimeUnits(59), "59s");
  EXPECT_EQ(GnuTimeUnits(65), "1m05s");
  EXPECT_EQ(GnuTimeUnits(7205), "2h00m05s");
  EXPECT_EQ(GnuTimeUnits(93605), "1d02h00m05s");
}

// The lines below are GNU parallel 20221122's (seq 5 | parallel --eta -j2 'sleep 0.3; echo {}'
// with stderr not a terminal), timings aside.
TEST(GnuStatusTest, EtaHeaderAndStatusLinesInGnuParallelsFormat) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  GnuStatus eta(GnuStatus::Kind::kEta, f, "local", 2);
  eta.Start(2);
  eta.Update(Counts(5, 2, 0), 100);
  eta.Update(Counts(5, 1, 1), 1000);  // the first completion: no time passed since it
  eta.Finish(Counts(5, 0, 5), 2000);
  EXPECT_EQ(testing::ReadAndClose(f),
            "\nComputers / CPU cores / Max jobs to run\n1:local / 2 / 2\n"
            "\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
            "\rETA: 0s Left: 5 AVG: 0.00s  local:2/0/100%/0.0s "
            "\rETA: 0s Left: 4 AVG: 0.00s  local:1/1/100%/1.0s "
            "\rETA: 0s Left: 0 AVG: 0.20s  local:0/5/100%/0.4s \n");
}

TEST(GnuStatusTest, EtaIsLeftTimesTheSmoothedAverageAndUnknownCoresShowAsADash) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  GnuStatus eta(GnuStatus::Kind::kEta, f, "aws", 0);
  eta.Start(8);
  EXPECT_EQ(eta.Status(Counts(10, 0, 0), 0), "ETA: 0s Left: 10 AVG: 0.00s  ");  // none started
  eta.Status(Counts(10, 4, 1), 1000);  // first completion at 1 s
  // 2 s later, 5 done: avg 0.4 s, smoothed (0.5 * 0.4 + 0.5 * 0.4) = 0.4, ETA 5 * 0.4 = 2 s.
  EXPECT_EQ(eta.Status(Counts(10, 4, 5), 3000), "ETA: 2s Left: 5 AVG: 0.40s  aws:4/5/100%/0.6s ");
  std::fclose(f);
  std::FILE* g = std::tmpfile();
  GnuStatus header(GnuStatus::Kind::kEta, g, "aws", 0);
  header.Start(8);
  EXPECT_NE(testing::ReadAndClose(g).find("\n1:aws / - / 8\n"), std::string::npos);
}

TEST(GnuStatusTest, BarInGnuParallelsFormat) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  GnuStatus bar(GnuStatus::Kind::kBar, f, "local", 2, 80);
  bar.Start(2);
  bar.Update(Counts(5, 2, 0, "2"), 100);
  bar.Update(Counts(5, 2, 1, "2"), 400);
  bar.Finish(Counts(5, 0, 5, "5"), 900);
  const std::string pad69(69, ' ');
  EXPECT_EQ(testing::ReadAndClose(f),
            // 0%: the reset comes first, all of the text after it
            "\r\r#   0 sec 2" + pad69 + "\r0\r\033[7m\033[0m0% 0:5=0s 2" + pad69 +
                "\033[0m"
                // 20%: the first 16 columns in reverse video
                "\r\r#   0 sec 2" +
                pad69 + "\r20\r\033[7m20% 1:4=0s 2    \033[0m" + std::string(64, ' ') +
                "\033[0m"
                // 100%, and the line ends
                "\r\r#   0 sec 5" +
                pad69 + "\r100\r\033[7m100% 5:0=0s 5" + std::string(67, ' ') + "\033[0m\033[0m\n");
}

TEST(GnuStatusTest, BarPercentageIsPrintedAsPerlPrintsANumberAndLongArgsAreCut) {
  std::FILE* f = std::tmpfile();
  GnuStatus bar(GnuStatus::Kind::kBar, f, "local", 1, 20);
  const std::string s = bar.Status(Counts(3, 1, 1, std::string(30, 'x')), 0);
  EXPECT_EQ(s,
            "\r#   0 sec xxxxxxxxxx\r33.3333333333333\r\033[7m33% 1:\033[0m2=0s xxxxxxxxx\033[0m");
  std::fclose(f);
}

}  // namespace
}  // namespace parallelagram::driver
