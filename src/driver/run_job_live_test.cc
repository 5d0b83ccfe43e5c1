// RunJob with --line-buffer, -u, --eta and --bar against a fake backend in virtual time: the
// live output path (event live_output -> files -> LiveTail -> console), the AWS notice, and
// GNU parallel's status header.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "driver/run_job.h"
#include "driver/state_dir.h"
#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

class RunJobLiveTest : public testing::RunJobFixture {
 protected:
  RunJobLiveTest() : RunJobFixture("runjob_live") {
    // A worker that writes "live ARG\n" (and "e ARG" with no newline on stderr) to the
    // event's live files as it starts, and answers after ARG ms with the same output.
    worker_ = [](const TaskEvent& e, int, ObjectStore&) -> std::pair<int64_t, TaskResult> {
      const std::string arg = e.argv.size() > 1 ? e.argv[1] : "";
      if (!e.live_output.empty()) {
        std::ofstream(e.live_output + ".stdout", std::ios::app) << "live " << arg << "\n";
        std::ofstream(e.live_output + ".stderr", std::ios::app) << "e " << arg;
      }
      return {std::stoll(arg), testing::Exited(0, "live " + arg + "\n", "e " + arg)};
    };
  }
};

TEST_F(RunJobLiveTest, LineBufferPrintsWhatTasksWriteWhileTheyRun) {
  local_ = true;
  EXPECT_EQ(Run({"--lb", "-j", "2", "--job-id", "lb", "--", "echo", ":::", "50", "10"}), 0);
  // Both lines were written when the tasks started and read at the first poll, in task order;
  // printed at the end they would come in completion order (10 first).
  EXPECT_EQ(out_, "live 50\nlive 10\n");
  // The stderr lines had no newline: each printed whole when its task ended.
  EXPECT_EQ(err_, "e 10e 50");
  ASSERT_EQ(log_.events.size(), 2u);
  for (const auto& e : log_.events) {
    EXPECT_TRUE(e.live_output.starts_with(state_ + "/jobs/lb/live/")) << e.live_output;
  }
  EXPECT_FALSE(fs::exists(state_ + "/jobs/lb/live"));  // gone with the job
  auto results = ReadResults(state_, "lb");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0]["stdout"], "live 50\n");  // the record holds the whole output
}

TEST_F(RunJobLiveTest, UngroupPrintsBytesAsTheyCome) {
  local_ = true;
  EXPECT_EQ(Run({"-u", "-k", "-j", "2", "--", "echo", ":::", "50", "10"}), 0);
  EXPECT_EQ(out_, "live 50\nlive 10\n");  // -k ignored: as they came
  EXPECT_EQ(err_, "e 50e 10");            // partial lines at once
}

TEST_F(RunJobLiveTest, OnAwsOneLineSaysOutputArrivesWholeAndTheJobRuns) {
  local_ = false;
  EXPECT_EQ(Run({"--lb", "-j", "2", "--", "echo", ":::", "50", "10"}), 0);
  EXPECT_EQ(out_, "live 10\nlive 50\n");  // whole, as tasks end
  EXPECT_NE(err_.find("parallelagram: --line-buffer: on AWS each task's output arrives whole "
                      "when the task ends, and is printed then\n"),
            std::string::npos)
      << err_;
  for (const auto& e : log_.events) EXPECT_EQ(e.live_output, "");
}

TEST_F(RunJobLiveTest, EtaAndBarReplaceTheProgressLine) {
  local_ = true;
  EXPECT_EQ(Run({"--eta", "-j", "2", "--", "echo", ":::", "50", "10"}), 0);
  EXPECT_TRUE(
      err_.starts_with("\nComputers / CPU cores / Max jobs to run\n1:local / 2 / 2\n"
                       "\nComputer:jobs running/jobs completed/%of started jobs/Average "
                       "seconds to complete\n"))
      << err_;
  EXPECT_TRUE(err_.ends_with("\rETA: 0s Left: 0 AVG: 0.00s  local:0/2/100%/0.0s \n")) << err_;
  EXPECT_EQ(err_.find("parallelagram: ["), std::string::npos);  // no progress line
  EXPECT_EQ(Run({"--eta", "--backend", "aws", "-j", "3", "--", "echo", ":::", "5"}), 0);
  EXPECT_NE(err_.find("\n1:aws / - / 3\n"), std::string::npos) << err_;
  EXPECT_EQ(Run({"--bar", "-j", "2", "--", "echo", ":::", "50", "10"}), 0);
  EXPECT_TRUE(
      err_.ends_with("\r100\r\033[7m100% 2:0=0s 10" + std::string(66, ' ') + "\033[0m\033[0m\n"))
      << err_;
}

}  // namespace
}  // namespace parallelagram::driver
