#include "worker/process_task.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "os/process_runner_fake.h"

namespace parallelagram {
namespace {

namespace fs = std::filesystem;

TEST(TaskTimeoutTest, PlacesTheTimeoutBeforeTheDeadline) {
  const int64_t now = 1'700'000'000'000;
  EXPECT_EQ(TaskTimeoutMs(0, 0, now), 0);                    // no limit at all
  EXPECT_EQ(TaskTimeoutMs(5000, 0, now), 5000);              // only the task's
  EXPECT_EQ(TaskTimeoutMs(0, now + 10'000, now), 9000);      // 10% margin
  EXPECT_EQ(TaskTimeoutMs(3000, now + 10'000, now), 3000);   // the task's is shorter
  EXPECT_EQ(TaskTimeoutMs(0, now + 1000, now), 800);         // margin at least 200 ms
  EXPECT_EQ(TaskTimeoutMs(0, now + 900'000, now), 898'000);  // margin at most 2 s
  EXPECT_LT(TaskTimeoutMs(0, now + 150, now), 0);            // no time left
  EXPECT_LT(TaskTimeoutMs(1000, now - 5, now), 0);
  EXPECT_EQ(DeadlineMarginMs(50'000), 2000);
  EXPECT_EQ(DeadlineMarginMs(5'000), 500);
}

class ProcessTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg-task-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    ctx_.tmp_dir = tmp_;
    ctx_.memory_limit_mb = 1000;
    ASSERT_TRUE(handler_.Init(ctx_).ok());
  }
  void TearDown() override { fs::remove_all(tmp_); }

  TaskResult Run(const TaskEvent& e) {
    auto r = handler_.Run(e, ctx_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : TaskResult{};
  }

  static os::ProcessOutcome Killed(int sig, int64_t rss_kb, bool by_timeout = false) {
    os::ProcessOutcome o;
    o.started = true;
    o.signal = sig;
    o.max_rss_kb = rss_kb;
    o.timed_out = by_timeout;
    return o;
  }

  std::string tmp_;
  InvocationContext ctx_;
  os::FakeProcessRunner runner_;
  std::unique_ptr<Blobs> blobs_ = Blobs::WithDefaults();
  FakeClock clock_;
  ProcessTaskHandler handler_{&runner_, blobs_.get(), &clock_};
};

TEST_F(ProcessTaskTest, RunsInAFreshScratchDirectoryThatIsRemoved) {
  std::string seen;
  runner_.on_run = [&](const os::ProcessSpec& s) {
    seen = s.cwd;
    EXPECT_TRUE(fs::is_directory(s.cwd));
    std::ofstream(s.cwd + "/left-behind") << "x";
  };
  TaskEvent e;
  e.argv = {"tool", "a"};
  e.cwd = "work/here";
  e.env = {{"K", "V"}};
  e.stdin_data = "in";
  e.task_id = "t1";
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.task_id, "t1");
  ASSERT_EQ(runner_.specs().size(), 1u);
  const os::ProcessSpec s = runner_.specs()[0];
  EXPECT_EQ(s.argv, e.argv);
  EXPECT_EQ(s.env, e.env);
  EXPECT_EQ(s.stdin_data, "in");
  EXPECT_EQ(s.timeout_ms, 0);  // no deadline, no timeout_ms
  EXPECT_EQ(seen.rfind(tmp_ + "/pg-task-", 0), 0u) << seen;
  EXPECT_TRUE(seen.ends_with("/work/here")) << seen;
  EXPECT_FALSE(fs::exists(fs::path(seen).parent_path().parent_path()));
  // A second task gets another directory.
  Run(e);
  EXPECT_NE(runner_.specs()[1].cwd, s.cwd);
}

// live_output: each chunk the runner reports is appended to PREFIX.stdout / PREFIX.stderr
// (files the driver made); without the files, or without live_output, nothing is copied.
TEST_F(ProcessTaskTest, LiveOutputAppendsChunksToTheDriversFiles) {
  const std::string prefix = tmp_ + "/live-1.1";
  std::ofstream(prefix + ".stdout").flush();
  std::ofstream(prefix + ".stderr").flush();
  runner_.on_run = [](const os::ProcessSpec& s) {
    ASSERT_TRUE(s.on_output);
    s.on_output(false, "one\ntw", 6);
    s.on_output(true, "err", 3);
    s.on_output(false, "o\n", 2);
  };
  TaskEvent e;
  e.argv = {"tool"};
  e.live_output = prefix;
  EXPECT_EQ(Run(e).outcome, Outcome::kSucceeded);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  EXPECT_EQ(slurp(prefix + ".stdout"), "one\ntwo\n");
  EXPECT_EQ(slurp(prefix + ".stderr"), "err");

  bool copied = false;
  runner_.on_run = [&](const os::ProcessSpec& s) { copied = static_cast<bool>(s.on_output); };
  e.live_output = tmp_ + "/missing";  // the driver made no files: not created here
  Run(e);
  EXPECT_FALSE(copied);
  EXPECT_FALSE(fs::exists(tmp_ + "/missing.stdout"));
  e.live_output.clear();
  Run(e);
  EXPECT_FALSE(copied);
}

TEST_F(ProcessTaskTest, TimeoutComesFromTheDeadlineOrTheTask) {
  ctx_.deadline_epoch_ms = clock_.NowEpochMs() + 20'000;
  TaskEvent e;
  e.argv = {"x"};
  Run(e);
  EXPECT_EQ(runner_.specs().back().timeout_ms, 18'000);
  e.timeout_ms = 700;
  Run(e);
  EXPECT_EQ(runner_.specs().back().timeout_ms, 700);
}

TEST_F(ProcessTaskTest, ClassifiesTimeoutsByWhichLimitBound) {
  ctx_.deadline_epoch_ms = clock_.NowEpochMs() + 20'000;
  TaskEvent e;
  e.argv = {"x"};
  runner_.Push(Killed(SIGKILL, 1000, true));
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut);
  EXPECT_NE(r.error.find("deadline"), std::string::npos) << r.error;
  e.timeout_ms = 100;
  runner_.Push(Killed(SIGKILL, 1000, true));
  r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut);
  EXPECT_NE(r.error.find("timeout_ms"), std::string::npos) << r.error;
}

TEST_F(ProcessTaskTest, NoTimeLeftBeforeTheDeadlineDoesNotRun) {
  ctx_.deadline_epoch_ms = clock_.NowEpochMs() + 100;
  TaskEvent e;
  e.argv = {"x"};
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kTimedOut);
  EXPECT_TRUE(runner_.specs().empty());
}

TEST_F(ProcessTaskTest, ClassifiesOutcomes) {
  TaskEvent e;
  e.argv = {"x"};
  os::ProcessOutcome exit3;
  exit3.started = true;
  exit3.exit_code = 3;
  runner_.Push(exit3);
  EXPECT_EQ(Run(e).outcome, Outcome::kFailed);

  runner_.Push(Killed(SIGKILL, 900 * 1024));  // near the 1000 MB limit, not our kill
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kOutOfMemory);
  EXPECT_EQ(r.signal, SIGKILL);

  runner_.Push(Killed(SIGKILL, 10 * 1024));  // far below the limit
  EXPECT_EQ(Run(e).outcome, Outcome::kCrashed);

  runner_.Push(Killed(SIGSEGV, 900 * 1024));
  r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kCrashed);
  EXPECT_EQ(r.error, "killed by SIGSEGV");

  os::ProcessOutcome missing;
  missing.exit_code = 127;
  missing.error = "program not found: x";
  runner_.Push(missing);
  r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.error, "program not found: x");

  os::ProcessOutcome ok;
  ok.started = true;
  ok.exit_code = 0;
  ok.stdout_data = "hi\n";
  ok.wall_us = 1499;
  ok.cpu_user_us = 2500;
  ok.max_rss_kb = 1234;
  runner_.Push(ok);
  r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  EXPECT_EQ(r.stdout_data, "hi\n");
  EXPECT_EQ(r.wall_ms, 1);
  EXPECT_EQ(r.cpu_user_ms, 3);
  EXPECT_EQ(r.max_rss_kb, 1234);
}

TEST_F(ProcessTaskTest, InvalidEventsAreInvalidArgument) {
  auto bad = [&](TaskEvent e) {
    auto r = handler_.Run(e, ctx_);
    EXPECT_FALSE(r.ok());
    return r.status();
  };
  TaskEvent e;
  EXPECT_EQ(bad(e).code(), StatusCode::kInvalidArgument);  // no argv
  e.argv = {""};
  EXPECT_EQ(bad(e).code(), StatusCode::kInvalidArgument);
  e.argv = {"x"};
  e.cwd = "/etc";
  EXPECT_NE(bad(e).message().find("cwd"), std::string::npos);
  e.cwd = "a/../../b";
  EXPECT_EQ(bad(e).code(), StatusCode::kInvalidArgument);
  e.cwd = "";
  e.returns = {"out.txt"};
  EXPECT_NE(bad(e).message().find("output_uri"), std::string::npos);
  e.returns.clear();
  e.env = {{"A=B", "c"}};
  EXPECT_EQ(bad(e).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(runner_.specs().empty());
}

TEST_F(ProcessTaskTest, StagingFailureIsAResult) {
  TaskEvent e;
  e.argv = {"x"};
  e.files = {{.path = "in.txt", .uri = "file://" + tmp_ + "/does-not-exist"}};
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kStagingError);
  EXPECT_NE(r.error.find("in.txt"), std::string::npos) << r.error;
  EXPECT_TRUE(runner_.specs().empty());
}

TEST_F(ProcessTaskTest, ReturnedFilesAreStoredAfterTheRun) {
  runner_.on_run = [](const os::ProcessSpec& s) {
    std::ofstream(s.cwd + "/out.txt") << "result\n";
  };
  TaskEvent e;
  e.argv = {"x"};
  e.returns = {"out.txt", "absent.txt"};
  e.output_uri = "file://" + tmp_ + "/outputs/t1/";
  TaskResult r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kSucceeded);
  ASSERT_EQ(r.returned.size(), 2u);
  EXPECT_EQ(r.returned[0].uri, "file://" + tmp_ + "/outputs/t1/0-out.txt");
  EXPECT_EQ(r.returned[0].size, 7u);
  EXPECT_TRUE(r.returned[1].missing);
  std::ifstream in(tmp_ + "/outputs/t1/0-out.txt");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "result");
  // Storage that fails turns a success into a staging error.
  e.output_uri = "s3://bucket/prefix";  // no credentials in the test environment
  r = Run(e);
  EXPECT_EQ(r.outcome, Outcome::kStagingError);
  EXPECT_NE(r.error.find("s3://"), std::string::npos) << r.error;
}

TEST_F(ProcessTaskTest, InitRejectsAnUnwritableScratchRoot) {
  InvocationContext bad = ctx_;
  bad.tmp_dir = tmp_ + "/missing";
  Status s = handler_.Init(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("TMPDIR"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace parallelagram
