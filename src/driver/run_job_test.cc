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
using testing::Exited;
using testing::FakeInvoker;
using testing::FakeLoop;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A backend whose "worker" echoes argv[1..] joined by spaces, after argv.size()*d ms,
// exiting with the number in argv[2] when argv[1] is "exit"; it stores --return files.
class FakeBackend : public Backend {
 public:
  FakeBackend(Timers& timers, std::string store_root)
      : store_(std::move(store_root)),
        inv_(timers, [this](const TaskEvent& e, int attempt) { return Run(e, attempt); }) {}
  Invoker& invoker() override { return inv_; }
  ObjectStore& store() override { return store_; }
  std::string host() const override { return ":"; }
  FakeInvoker& fake() { return inv_; }

 private:
  std::pair<int64_t, TaskResult> Run(const TaskEvent& e, int) {
    if (e.argv.size() >= 3 && e.argv[1] == "exit") {
      return {5, Exited(std::stoi(e.argv[2]))};
    }
    std::string out;
    for (size_t i = 1; i < e.argv.size(); ++i) out += (i > 1 ? " " : "") + e.argv[i];
    out += "\n";
    int64_t delay = 1;
    if (e.argv.size() >= 2 && !e.argv[1].empty() && std::isdigit(static_cast<unsigned char>(e.argv[1][0]))) {
      delay = std::stoll(e.argv[1]);
    }
    TaskResult r = Exited(0, out, "err:" + out);
    for (const auto& ret : e.returns) {
      std::string tmp = fs::temp_directory_path() / ("pg_fake_ret_" + std::to_string(getpid()));
      std::ofstream(tmp) << "returned " << ret;
      auto uri = store_.PutFile(e.output_uri.substr(store_.Uri("").size()) + "/" + ret, tmp);
      ReturnedFile rf;
      rf.path = ret;
      rf.uri = uri.ok() ? *uri : "";
      r.returned.push_back(rf);
      fs::remove(tmp);
    }
    if (seen) seen->push_back(e);
    return {delay, r};
  }
  DirectoryObjectStore store_;
  FakeInvoker inv_;

 public:
  std::vector<TaskEvent>* seen = nullptr;  // outlives the backend
};

class RunJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pg_runjob_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    old_cwd_ = fs::current_path();
    fs::current_path(dir_);
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    fs::remove_all(dir_);
  }

  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", (dir_ / "state").string()});
    auto o = ParseRunArgs(args);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    if (!o.ok()) return -1;
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    RunEnv env;
    env.out = out;
    env.err = err;
    env.loop = &loop_;
    env.clock = &clock_;
    env.default_jobs = 2;
    env.backend = [this](const BackendConfig& cfg) -> Result<std::unique_ptr<Backend>> {
      ++backends_started_;
      config_ = cfg;
      auto b = std::make_unique<FakeBackend>(loop_, cfg.state_root + "/store");
      b->seen = &events_;
      return std::unique_ptr<Backend>(std::move(b));
    };
    int rc = RunJob(*o, env);
    out_ = testing::ReadAndClose(out);
    err_ = testing::ReadAndClose(err);
    return rc;
  }

  fs::path dir_, old_cwd_;
  FakeClock clock_;
  FakeLoop loop_{clock_};
  std::string out_, err_;
  int backends_started_ = 0;
  BackendConfig config_;
  std::vector<TaskEvent> events_;
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
  auto jobs = ListJobs((dir_ / "state").string());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_id, "fails");
  EXPECT_EQ(jobs[0].status, "finished");
  EXPECT_EQ(jobs[0].total, 4);
  EXPECT_EQ(jobs[0].succeeded, 2);
  EXPECT_EQ(jobs[0].failed, 2);
  auto results = ReadResults((dir_ / "state").string(), "fails");
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
  ASSERT_EQ(events_.size(), 2u);
  const TaskEvent& e = events_[0];
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
  auto jobs = ListJobs((dir_ / "state").string());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].status, "halted");
  EXPECT_EQ(jobs[0].finished, 2);
}

}  // namespace
}  // namespace parallelagram::driver
