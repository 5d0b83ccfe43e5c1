// RunJob end to end against a fake backend: recording, ordering, exit status, staging.
#include "driver/run_job.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "driver/state_dir.h"
#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using testing::Slurp;

class RunJobTest : public testing::RunJobFixture {
 protected:
  RunJobTest() : RunJobFixture("runjob") {}
};

TEST_F(RunJobTest, KeepOrderPrintsInInputOrder) {
  EXPECT_EQ(Run({"-j", "3", "-k", "--job-id", "j1", "--", "echo", "{}", ":::", "30", "10", "20", "5"}), 0);
  EXPECT_EQ(out_, "30\n10\n20\n5\n");
  EXPECT_EQ(err_, "err:30\nerr:10\nerr:20\nerr:5\n");
  EXPECT_EQ(config_.concurrency, 3);
}

TEST_F(RunJobTest, CompletionOrderWithoutK) {
  EXPECT_EQ(Run({"-j", "4", "--", "echo", "{}", ":::", "30", "10", "20", "5"}), 0);
  EXPECT_EQ(out_, "5\n10\n20\n30\n");
}

TEST_F(RunJobTest, ExitStatusCountsFailuresAndStateIsRecorded) {
  EXPECT_EQ(Run({"--job-id", "fails", "--joblog", "log.tsv", "--results", "res", "--", "echo",
                 "exit", "{}", ":::", "0", "3", "0", "4"}),
            2);
  auto jobs = ListJobs(state_);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_id, "fails");
  EXPECT_EQ(jobs[0].status, "finished");
  EXPECT_EQ(jobs[0].total, 4);
  EXPECT_EQ(jobs[0].succeeded, 2);
  EXPECT_EQ(jobs[0].failed, 2);
  auto results = ReadResults(state_, "fails");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[1]["exit_code"], 3);
  EXPECT_EQ((*results)[1]["outcome"], "failed");
  // --joblog: header + 4 lines; --results: per-task dirs and results.jsonl.
  std::string log = Slurp("log.tsv");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 5);
  EXPECT_NE(log.find("\t3\t0\techo exit 3\n"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists("res/2/result.json"));
  EXPECT_TRUE(fs::exists("res/4/stdout"));
  std::string jl = Slurp("res/results.jsonl");
  EXPECT_EQ(std::count(jl.begin(), jl.end(), '\n'), 4);
  // Ids are never reused.
  EXPECT_EQ(Run({"--job-id", "fails", "--", "echo", ":::", "a"}), kExitUsage);
  EXPECT_NE(err_.find("already exists"), std::string::npos);
}

TEST_F(RunJobTest, ExitStatusCapsAt101) {
  std::vector<std::string> args = {"-j", "8", "--", "echo", "exit", "{}", ":::"};
  for (int i = 0; i < 120; ++i) args.push_back("1");
  EXPECT_EQ(Run(args), 101);
}

TEST_F(RunJobTest, DryRunStartsNothing) {
  EXPECT_EQ(Run({"--dry-run", "--", "echo", "{#}", "{}", ":::", "a b", "c"}), 0);
  EXPECT_EQ(out_, "echo 1 'a b'\necho 2 c\n");
  EXPECT_EQ(backends_started_, 0);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "jobs"));
}

TEST_F(RunJobTest, MissingTransferFileFailsUpFront) {
  std::ofstream("present.txt") << "x";
  EXPECT_EQ(Run({"--tf", "{}", "--", "cat", "{}", ":::", "present.txt", "missing.txt"}), kExitUsage);
  EXPECT_NE(err_.find("missing.txt"), std::string::npos) << err_;
  EXPECT_EQ(backends_started_, 0);
  EXPECT_EQ(err_.find('\n'), err_.size() - 1);  // one line
}

TEST_F(RunJobTest, StagesFilesAndBringsReturnsBack) {
  fs::create_directories("tools");
  std::ofstream("tools/a") << "A";
  std::ofstream("tools/b") << "B";
  std::ofstream("in1.txt") << "1";
  std::ofstream("in2.txt") << "2";
  EXPECT_EQ(Run({"--bf", "tools", "--tf", "{}", "--return", "{}.out", "--cleanup", "--", "wc",
                 "{}", ":::", "in1.txt", "in2.txt"}),
            0);
  ASSERT_EQ(log_.events.size(), 2u);
  const TaskEvent& e = log_.events[0];
  ASSERT_EQ(e.files.size(), 3u);
  EXPECT_TRUE(e.files[0].cache);
  EXPECT_FALSE(e.files[2].cache);
  EXPECT_EQ(e.returns.size(), 1u);
  EXPECT_EQ(Slurp("in1.txt.out"), "returned in1.txt.out");
  EXPECT_EQ(Slurp("in2.txt.out"), "returned in2.txt.out");
  // --cleanup removed the per-task inputs from the store but kept the basefiles.
  int cas = 0;
  for (const auto& f : fs::directory_iterator(dir_ / "state" / "store" / "cas")) (void)f, ++cas;
  EXPECT_EQ(cas, 2);
}

TEST_F(RunJobTest, JsonEventsAreOneObjectPerLine) {
  EXPECT_EQ(Run({"--json", "-k", "--", "echo", "{}", ":::", "20", "1"}), 0);
  std::istringstream in(out_);
  std::string line;
  std::vector<std::string> events;
  std::vector<std::string> finished_out;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    events.push_back(j["event"]);
    if (j["event"] == "finish") finished_out.push_back(j["stdout"]);
  }
  EXPECT_EQ(events.front(), "job");
  EXPECT_EQ(events.back(), "done");
  EXPECT_EQ(finished_out, (std::vector<std::string>{"20\n", "1\n"}));
}

TEST_F(RunJobTest, HaltNowFailOne) {
  EXPECT_EQ(Run({"-j", "1", "--halt", "now,fail=1", "--", "echo", "exit", "{}", ":::", "0", "2", "0", "0"}), 1);
  EXPECT_NE(err_.find("halting"), std::string::npos);
  auto jobs = ListJobs(state_);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].status, "halted");
  EXPECT_EQ(jobs[0].finished, 2);
}

}  // namespace
}  // namespace parallelagram::driver
