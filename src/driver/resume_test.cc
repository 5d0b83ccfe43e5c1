// run --resume: the recorded inputs, the checks of PrepareResume, and RunJob resuming a job
// against a fake backend (finished tasks skipped, output not printed again, exit status of
// the whole job, the journal's runs).
#include "driver/resume.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "driver/journal.h"
#include "driver/run_job.h"
#include "driver/state_dir.h"
#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::Slurp;

// RunJob with the echo worker (testing::EchoWorker): "echo exit N" exits N.
class ResumeTest : public testing::RunJobFixture {
 protected:
  ResumeTest() : RunJobFixture("resume") {}

  // The task ids the last run dispatched, in order.
  std::vector<std::string> Seen() const {
    std::vector<std::string> ids;
    for (const auto& e : log_.events) ids.push_back(e.task_id);
    return ids;
  }
  Result<ResumePlan> Prepare(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    auto o = ParseRunArgs(args);
    if (!o.ok()) return o.status();
    return PrepareResume(*o);
  }
  std::string JobDir(const std::string& job) { return state_ + "/jobs/" + job; }
  // Leaves only the manifest lines of `keep` (plus a torn line) and marks the job as
  // interrupted by a driver that is gone: the state a SIGKILL leaves.
  void Interrupt(const std::string& job, const std::set<int64_t>& keep) {
    std::istringstream in(Slurp(JobDir(job) + "/results.jsonl"));
    std::string line, kept;
    while (std::getline(in, line)) {
      if (keep.count(json::parse(line)["seq"].get<int64_t>())) kept += line + "\n";
    }
    kept += "{\"job_id\":\"" + job + "\",\"seq\":6,\"outco";
    std::ofstream(JobDir(job) + "/results.jsonl", std::ios::trunc) << kept;
    json info = json::parse(Slurp(JobDir(job) + "/job.json"));
    info["status"] = "running";
    info["pid"] = 0;
    std::ofstream(JobDir(job) + "/job.json", std::ios::trunc) << info.dump();
  }
};

TEST_F(ResumeTest, InputsRoundTripAsBytes) {
  fs::create_directories("d");
  std::vector<InputSource> in(2);
  in[0].origin = "::: source 1";
  in[0].values = {"a b", "line\nbreak", "quote\"", "", std::string("\xff\xfe\x00z", 4)};
  in[1].origin = "file.txt";
  in[1].values = {"x"};
  ASSERT_TRUE(WriteRecordedInputs("d", in).ok());
  auto back = ReadRecordedInputs("d");
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].origin, "::: source 1");
  EXPECT_EQ((*back)[0].values, in[0].values);
  EXPECT_EQ((*back)[1].values, in[1].values);
  // Damaged or missing: an error saying the job cannot be resumed.
  std::string text = Slurp("d/inputs.jsonl");
  std::ofstream("d/inputs.jsonl", std::ios::trunc) << text.substr(0, text.size() / 2);
  auto bad = ReadRecordedInputs("d");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot be resumed"), std::string::npos);
  EXPECT_FALSE(ReadRecordedInputs("nowhere").ok());
}

TEST_F(ResumeTest, ResumesAnInterruptedJob) {
  // Task 2 fails (exit 3); the others echo.
  ASSERT_EQ(Run({"-j",  "2",   "--job-id", "r",  "--joblog", "log.tsv", "--link", "--", "echo",
                 "{1}", "{2}", ":::",      "ok", "exit",     "ok",      "ok",     "ok", "ok",
                 ":::", "1",   "3",        "3",  "4",        "5",       "6"}),
            1);
  const std::string full = Slurp(JobDir("r") + "/results.jsonl");
  Interrupt("r", {1, 2, 3});

  auto plan = Prepare({"--resume", "last", "-q"});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->job_id, "r");
  EXPECT_FALSE(plan->finished);
  EXPECT_EQ(plan->options.command, (std::vector<std::string>{"echo", "{1}", "{2}"}));
  EXPECT_TRUE(plan->options.link);
  EXPECT_EQ(plan->options.jobs, 2);
  EXPECT_TRUE(plan->options.quiet);
  ASSERT_EQ(plan->options.sources.size(), 2u);
  EXPECT_EQ(plan->options.sources[1].values[5], "6");

  // Only tasks 4-6 run; only their output is printed; the exit status counts task 2.
  EXPECT_EQ(RunWith(plan->options), 1);
  EXPECT_EQ(Seen(), (std::vector<std::string>{"r/4", "r/5", "r/6"}));
  EXPECT_EQ(out_.find("ok 1"), std::string::npos);
  EXPECT_NE(out_.find("ok 4\n"), std::string::npos);
  EXPECT_NE(out_.find("ok 6\n"), std::string::npos);
  auto results = ReadResults(state_, "r");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ((*results)[i]["seq"], i + 1);
  EXPECT_EQ((*results)[1]["outcome"], "failed");
  std::string now = Slurp(JobDir("r") + "/results.jsonl");
  EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 6);
  EXPECT_EQ(std::count(full.begin(), full.end(), '\n'), 6);
  // The joblog holds each task once, with one header: the lines of tasks 4-6, whose manifest
  // lines the interruption took, are dropped on resume and written again when they finish
  // (this test once expected 1 + 6 + 3 lines: those three twice).
  std::string log = Slurp("log.tsv");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1 + 6);
  EXPECT_EQ(log.find("Seq", 1), std::string::npos);
  // job.json: finished, counts of the whole job, two runs; the journal has both runs.
  json info = json::parse(Slurp(JobDir("r") + "/job.json"));
  EXPECT_EQ(info["status"], "finished");
  EXPECT_EQ(info["runs"], 2);
  EXPECT_EQ(info["succeeded"], 5);
  EXPECT_EQ(info["failed"], 1);
  auto replay = ReplayJournal(JobDir("r") + "/journal.jsonl");
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->runs, 2);
  EXPECT_EQ(replay->last_end, "finished");

  // Now it is finished: nothing runs.
  auto again = Prepare({"--resume", "r"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->finished);
  EXPECT_NE(again->message.find("already finished"), std::string::npos);
}

TEST_F(ResumeTest, RefusesConflictsAndLiveDrivers) {
  ASSERT_EQ(Run({"-j", "3", "--retries", "2", "--job-id", "c", "--", "echo", ":::", "a"}), 0);
  Interrupt("c", {});
  EXPECT_TRUE(Prepare({"--resume", "c", "-j", "3", "--retries", "2", "--progress"}).ok());
  for (const auto& extra : std::vector<std::vector<std::string>>{{"-j", "4"},
                                                                 {"--retries", "3"},
                                                                 {"--timeout", "5"},
                                                                 {"--shell"},
                                                                 {"--halt", "now,fail=1"},
                                                                 {"--job-id", "other"},
                                                                 {"--mode", "async"}}) {
    std::vector<std::string> args = {"--resume", "c"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = Prepare(args);
    ASSERT_FALSE(p.ok()) << extra[0];
    EXPECT_NE(p.status().message().find("conflicts with job c"), std::string::npos)
        << p.status().message();
    EXPECT_EQ(p.status().message().find('\n'), std::string::npos);
  }
  EXPECT_FALSE(ParseRunArgs({"--resume", "c", "--", "echo", ":::", "a"}).ok());
  EXPECT_FALSE(ParseRunArgs({"--resume", "c", "--dry-run"}).ok());
  EXPECT_FALSE(Prepare({"--resume", "nope"}).ok());
}

TEST_F(ResumeTest, FinishedTasksReadFromCompleteLinesOnly) {
  fs::create_directories("j");
  std::ofstream("j/results.jsonl")
      << "{\"seq\":2,\"outcome\":\"succeeded\"}\n{\"seq\":3,\"outcome\":\"failed\"}\n"
      << "not json\n{\"seq\":99,\"outcome\":\"succeeded\"}\n{\"seq\":1,\"outcome\":\"succeeded\"}";
  auto f = ReadFinishedTasks("j", 4);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<uint8_t>{0, 1, 2, 0}));
}

}  // namespace
}  // namespace parallelagram::driver
