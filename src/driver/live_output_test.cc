#include "driver/live_output.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace parallelagram::driver {
namespace {

// Captures what LiveOutput writes on out and err.
class LiveOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = std::tmpfile();
    err_ = std::tmpfile();
    ASSERT_TRUE(out_ && err_);
  }
  void TearDown() override {
    std::fclose(out_);
    std::fclose(err_);
  }
  static std::string Read(std::FILE* f) {
    std::fflush(f);
    std::string s;
    std::rewind(f);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fseek(f, 0, SEEK_END);
    return s;
  }
  std::string Out() { return Read(out_); }
  std::string Err() { return Read(err_); }

  std::FILE* out_ = nullptr;
  std::FILE* err_ = nullptr;
  Progress progress_{Progress::Mode::kOff, nullptr};
};

TEST_F(LiveOutputTest, LinesPrintWholeLinesAsTheyComeAndNeverMixTwoTasksInOne) {
  LiveOutput live(LiveOutput::Mode::kLines, false, out_, err_, progress_);
  live.Data(1, false, "one\ntw", "");
  EXPECT_EQ(Out(), "one\n");  // the complete line at once
  live.Data(2, false, "B1\nB", "");
  live.Data(1, false, "o\n", "");
  EXPECT_EQ(Out(), "one\nB1\ntwo\n");  // 2's "B" waits for its newline
  live.Data(1, true, "warn", "");
  EXPECT_EQ(Err(), "");
  live.End(1, "one\ntwo\n", "warn", "");  // whole output not printed again
  EXPECT_EQ(Err(), "warn");               // the unfinished line at the end
  live.End(2, "B1\nB", "", "");
  EXPECT_EQ(Out(), "one\nB1\ntwo\nB");
}

TEST_F(LiveOutputTest, TagsStartEveryLineOnceEvenWhenALineComesInPieces) {
  LiveOutput lines(LiveOutput::Mode::kLines, false, out_, err_, progress_);
  lines.Data(1, false, "x\ny", "a\t");
  lines.Data(1, false, "z\n", "a\t");
  lines.End(1, "", "", "a\t");
  EXPECT_EQ(Out(), "a\tx\na\tyz\n");  // as GNU parallel --lb --tag
  LiveOutput raw(LiveOutput::Mode::kRaw, false, out_, err_, progress_);
  raw.Data(2, false, "p", "b\t");
  raw.Data(2, false, "q\nr", "b\t");
  raw.End(2, "", "", "b\t");
  EXPECT_EQ(Out(), "a\tx\na\tyz\nb\tpq\nb\tr");  // "q" continues the tagged "p" line
}

TEST_F(LiveOutputTest, RawPrintsBytesAsTheyComeAndIgnoresKeepOrder) {
  LiveOutput live(LiveOutput::Mode::kRaw, true, out_, err_, progress_);
  live.Data(2, false, "tw", "");
  EXPECT_EQ(Out(), "tw");  // mid-line, not task 1's turn: printed all the same
  live.Data(1, false, "one", "");
  EXPECT_EQ(Out(), "twone");
  live.End(2, "tw", "", "");
  live.End(1, "one", "", "");
  EXPECT_EQ(Out(), "twone");
}

TEST_F(LiveOutputTest, KeepOrderPrintsTheHeadLiveAndHoldsTheRestUntilTheirTurn) {
  LiveOutput live(LiveOutput::Mode::kLines, true, out_, err_, progress_);
  live.Data(2, false, "2a\n", "");
  live.Data(3, false, "3a\n", "");
  EXPECT_EQ(Out(), "");  // 1 is the head
  live.Data(1, false, "1a\n", "");
  EXPECT_EQ(Out(), "1a\n");
  live.Data(2, true, "2e\n", "");
  EXPECT_EQ(Err(), "");
  live.End(1, "1a\n", "", "");  // 2 is the head now: what it held comes out
  EXPECT_EQ(Out(), "1a\n2a\n");
  EXPECT_EQ(Err(), "2e\n");
  live.Data(2, false, "2b\n", "");  // and it goes on live
  EXPECT_EQ(Out(), "1a\n2a\n2b\n");
  live.Data(3, false, "3b\n", "");
  EXPECT_EQ(Out(), "1a\n2a\n2b\n");
  live.End(2, "", "", "");
  live.End(3, "", "", "");
  EXPECT_EQ(Out(), "1a\n2a\n2b\n3a\n3b\n");
}

TEST_F(LiveOutputTest, ATaskThatStreamedNothingPrintsItsWholeResultAtTheEnd) {
  // As on AWS (nothing streams), or a worker that could not open the live files.
  LiveOutput live(LiveOutput::Mode::kLines, false, out_, err_, progress_);
  live.Data(1, true, "live err\n", "");
  live.End(1, "whole out\nlast", "live err\n", "t\t");
  EXPECT_EQ(Out(), "t\twhole out\nt\tlast");
  EXPECT_EQ(Err(), "live err\n");  // streamed: not printed twice
}

TEST_F(LiveOutputTest, ARetriedAttemptsUnfinishedLineIsPrintedWhenItEnds) {
  LiveOutput live(LiveOutput::Mode::kLines, false, out_, err_, progress_);
  live.Data(1, false, "try 1\npart", "");
  live.AttemptEnded(1);
  EXPECT_EQ(Out(), "try 1\npart");
  live.Data(2, false, "other\n", "");
  live.Data(1, false, "try 2\n", "");
  live.End(1, "try 2\n", "", "");
  EXPECT_EQ(Out(), "try 1\npartother\ntry 2\n");
}

}  // namespace
}  // namespace parallelagram::driver
