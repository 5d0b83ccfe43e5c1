// Journal: batches, torn tails (SIGKILL mid-write), replay.
#include "driver/journal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

using testing::Slurp;

class JournalTest : public testing::ScratchDirTest {
 protected:
  JournalTest() : ScratchDirTest("journal") {}
  void SetUp() override {
    ScratchDirTest::SetUp();
    path_ = (dir_ / "journal.jsonl").string();
  }
  std::string path_;
};

TEST_F(JournalTest, ReplaysAttemptsObjectsAndRuns) {
  {
    Journal j;
    ASSERT_TRUE(j.Open(path_).ok());
    j.Run(1, 42, false);
    j.AttemptStarted(1, 1, false);
    j.ResultObject(1, "1.1.json");
    j.AttemptStarted(2, 1, false);
    j.ResultObject(2, "2.2.json");
    j.Retry(2, 2);
    j.AttemptStarted(2, 2, false);
    j.ResultObject(2, "2.3.json");
    j.AttemptStarted(2, 2, true);
    j.ResultObject(2, "2.17.json");
    j.End("cancelled");
  }
  auto r = ReplayJournal(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->runs, 1);
  EXPECT_EQ(r->last_end, "cancelled");
  EXPECT_EQ(r->skipped, 0);
  EXPECT_EQ(r->lines, 11);
  EXPECT_EQ(r->max_object_number, 17);
  ASSERT_EQ(r->tasks.size(), 2u);
  EXPECT_EQ(r->tasks[1].attempt, 1);
  EXPECT_EQ(r->tasks[1].dispatches, 1);
  EXPECT_EQ(r->tasks[2].attempt, 2);
  EXPECT_EQ(r->tasks[2].dispatches, 3);
  EXPECT_EQ(r->tasks[2].answered, 1);
  EXPECT_EQ(r->tasks[1].answered, 0);
  EXPECT_EQ(r->tasks[2].objects, (std::vector<std::string>{"2.2.json", "2.3.json", "2.17.json"}));

  // A filter keeps only the tasks wanted; a new run clears the end status.
  {
    Journal j;
    ASSERT_TRUE(j.Open(path_).ok());
    j.Run(2, 43, true);
  }
  auto only2 = ReplayJournal(path_, [](int64_t seq) { return seq == 2; });
  ASSERT_TRUE(only2.ok());
  EXPECT_EQ(only2->runs, 2);
  EXPECT_EQ(only2->last_end, "");
  EXPECT_EQ(only2->tasks.count(1), 0u);
  EXPECT_EQ(only2->tasks.count(2), 1u);
  EXPECT_EQ(only2->max_object_number, 17);  // counted over every task
}

TEST_F(JournalTest, AttemptLinesAreWrittenWholeAndLeaveTheReplayAlone) {
  {
    Journal j;
    ASSERT_TRUE(j.Open(path_).ok());
    j.Run(1, 42, false);
    j.AttemptStarted(3, 1, false);
    Journal::AttemptEnd e;
    e.seq = 3;
    e.attempt = 1;
    e.start_ms = 1000;
    e.end_ms = 1250;
    e.outcome = "crashed";
    e.env = "a\"b\\c";  // escaped as JSON
    e.cold = true;
    e.billed_ms = 300;
    e.memory_mb = 128;
    e.init_ms = 50;
    e.cost_usd = 0.5;
    e.estimate = true;
    j.AttemptEnded(e);
    j.Retry(3, 2);
    j.AttemptStarted(3, 2, false);
    e.attempt = 2;
    e.outcome = "succeeded";
    e.exit_code = 0;
    e.env = "0123456789abcdef";
    e.cost_usd = 2.0833333333333334e-06;
    e.duplicate = true;
    j.AttemptEnded(e);
  }
  std::istringstream in(Slurp(path_));
  std::string line;
  std::vector<nlohmann::json> a;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["t"] == "a") a.push_back(j);
  }
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0]["seq"], 3);
  EXPECT_EQ(a[0]["start_ms"], 1000);
  EXPECT_EQ(a[0]["end_ms"], 1250);
  EXPECT_EQ(a[0]["outcome"], "crashed");
  EXPECT_EQ(a[0]["env"], "a\"b\\c");
  EXPECT_DOUBLE_EQ(a[0]["cost_usd"].get<double>(), 0.5);
  EXPECT_EQ(a[0]["cold"], true);
  EXPECT_TRUE(a[0]["exit"].is_null());
  EXPECT_EQ(a[0]["init_ms"], 50);
  EXPECT_EQ(a[0]["est"], true);
  EXPECT_EQ(a[1]["exit"], 0);
  EXPECT_EQ(a[1]["dup"], true);
  EXPECT_EQ(a[1]["a"], 2);
  EXPECT_EQ(a[1]["env"], "0123456789abcdef");
  EXPECT_EQ(a[1]["cost_usd"].get<double>(), 2.0833333333333334e-06);  // round-trips
  // Replay: the "a" lines count as lines and change nothing of the task.
  auto r = ReplayJournal(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lines, 6);
  EXPECT_EQ(r->skipped, 0);
  EXPECT_EQ(r->tasks[3].attempt, 2);
  EXPECT_EQ(r->tasks[3].dispatches, 2);
  EXPECT_EQ(r->tasks[3].answered, 1);
}

TEST_F(JournalTest, MissingFileIsEmpty) {
  auto r = ReplayJournal((dir_ / "nope.jsonl").string());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->runs, 0);
  EXPECT_TRUE(r->tasks.empty());
  auto cut = TruncateTornTail((dir_ / "nope.jsonl").string());
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(*cut, 0);
}

TEST_F(JournalTest, TornTailIsSkippedAndCutBeforeAppending) {
  // Even a torn last line that happens to be valid JSON does not count: it has no '\n'.
  for (const std::string& torn :
       {std::string("{\"t\":\"d\",\"se"), std::string("{\"t\":\"d\",\"seq\":9,\"a\":1}")}) {
    {
      std::ofstream f(path_, std::ios::trunc | std::ios::binary);
      f << "{\"t\":\"run\",\"run\":1,\"pid\":1,\"resume\":false}\n"
        << "{\"t\":\"d\",\"seq\":3,\"a\":1}\n"
        << torn;
    }
    auto r = ReplayJournal(path_);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->lines, 2);
    EXPECT_EQ(r->skipped, 1);
    EXPECT_EQ(r->tasks.count(9), 0u);
    EXPECT_EQ(r->tasks[3].attempt, 1);

    {
      Journal j;
      ASSERT_TRUE(j.Open(path_).ok());
      j.AttemptStarted(4, 1, false);
    }
    std::string text = Slurp(path_);
    EXPECT_EQ(text.find(torn + "{"), std::string::npos) << "the torn line was appended to";
    EXPECT_EQ(text.back(), '\n');
    auto r2 = ReplayJournal(path_);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->skipped, 0);
    EXPECT_EQ(r2->tasks.count(4), 1u);
    EXPECT_EQ(r2->tasks.count(3), 1u);
  }
}

TEST_F(JournalTest, GarbageLinesInTheMiddleAreSkipped) {
  {
    std::ofstream f(path_, std::ios::binary);
    f << "{\"t\":\"d\",\"seq\":1,\"a\":1}\nnot "
         "json\n{\"t\":\"d\"}\n[1,2]\n{\"t\":\"d\",\"seq\":2,\"a\":3}\n";
  }
  auto r = ReplayJournal(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->skipped, 3);
  EXPECT_EQ(r->tasks[2].attempt, 3);
}

TEST_F(JournalTest, TruncateTornTailLongLineAcrossBuffers) {
  std::string big(10000, 'x');
  {
    std::ofstream f(path_, std::ios::binary);
    f << "first\n" << big;
  }
  auto cut = TruncateTornTail(path_);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(*cut, 10000);
  EXPECT_EQ(Slurp(path_), "first\n");
  {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f << big;  // no newline at all: everything is torn
  }
  cut = TruncateTornTail(path_);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(Slurp(path_), "");
}

// Lines are written to the kernel in batches: a line appended right after a flush stays in
// the process until Flush() (or kFlushMs later), and what was flushed survives _exit (which,
// like SIGKILL, drops stdio buffers).
TEST_F(JournalTest, BatchesAreWrittenByFlushAndSurviveAHardExit) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Journal j;
    if (!j.Open(path_).ok()) _exit(3);
    j.Run(1, getpid(), false);  // flushed at once
    for (int i = 1; i <= 50; ++i) j.AttemptStarted(i, 1, false);
    j.Flush();                       // these 50 are durable
    j.AttemptStarted(51, 1, false);  // still buffered (well within kFlushMs)
    _exit(0);                        // no destructor, no stdio flush: as SIGKILL
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto r = ReplayJournal(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->runs, 1);
  EXPECT_EQ(r->tasks.size(), 50u);
  EXPECT_EQ(r->tasks.count(51), 0u);

  // Without an explicit Flush, Append writes once kFlushMs have passed since the last write.
  fs::remove(path_);
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Journal j;
    if (!j.Open(path_).ok()) _exit(3);
    j.Run(1, getpid(), false);
    j.AttemptStarted(1, 1, false);  // buffered
    usleep(static_cast<useconds_t>((Journal::kFlushMs + 50) * 1000));
    j.AttemptStarted(2, 1, false);  // this append writes the batch (1 and 2)
    j.AttemptStarted(3, 1, false);  // buffered again
    _exit(0);
  }
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  r = ReplayJournal(path_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tasks.count(1), 1u);
  EXPECT_EQ(r->tasks.count(2), 1u);
  EXPECT_EQ(r->tasks.count(3), 0u);
}

TEST_F(JournalTest, ParsesResultObjectNames) {
  int64_t s = 0, n = 0;
  EXPECT_TRUE(ParseResultObjectName("17.3.json", &s, &n));
  EXPECT_EQ(s, 17);
  EXPECT_EQ(n, 3);
  EXPECT_FALSE(ParseResultObjectName("17.json", &s, &n));
  EXPECT_FALSE(ParseResultObjectName("a.3.json", &s, &n));
  EXPECT_FALSE(ParseResultObjectName("17.3.json.pgtmp.1.2", &s, &n));
  EXPECT_FALSE(ParseResultObjectName(".3.json", &s, &n));
}

}  // namespace
}  // namespace parallelagram::driver
