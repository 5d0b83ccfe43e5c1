#include "os/process_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace parallelagram::os {
namespace {

namespace fs = std::filesystem;

class ProcessRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg-runner-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessOutcome Run(ProcessSpec spec) {
    auto r = runner_.Run(spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : ProcessOutcome{};
  }

  // True while a process with this pid exists and is not a zombie.
  static bool Alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
  }

  PosixProcessRunner runner_;
  std::string dir_;
};

TEST_F(ProcessRunnerTest, ExitCodeAndOutputs) {
  auto o = Run({.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"}});
  EXPECT_TRUE(o.started);
  EXPECT_EQ(o.exit_code, 7);
  EXPECT_FALSE(o.signal);
  EXPECT_EQ(o.stdout_data, "out\n");
  EXPECT_EQ(o.stderr_data, "err\n");
  EXPECT_EQ(o.stdout_bytes, 4u);
  EXPECT_FALSE(o.timed_out);
  EXPECT_GT(o.max_rss_kb, 0);
}

TEST_F(ProcessRunnerTest, AForkedChildGetsStdinCwdEnvAndItsOwnGroup) {
  ProcessSpec spec;
  spec.argv = {"in-child"};
  spec.stdin_data = "from stdin";
  spec.cwd = dir_;
  spec.env = {{"PG_RUNNER_TEST", "set"}};
  spec.in_child = [] {
    char buf[64] = {};
    ssize_t n = ::read(0, buf, sizeof buf - 1);
    char cwd[4096] = {};
    if (!::getcwd(cwd, sizeof cwd)) return 1;
    const char* env = std::getenv("PG_RUNNER_TEST");
    std::string out = std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) + "|" + cwd + "|" +
                      (env ? env : "") + "|" + (::getpgrp() == ::getpid() ? "leader" : "member");
    if (::write(1, out.data(), out.size()) < 0 || ::write(2, "e", 1) < 0) return 1;
    return 3;
  };
  auto o = Run(spec);
  EXPECT_TRUE(o.started);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.stdout_data, "from stdin|" + fs::canonical(dir_).string() + "|set|leader");
  EXPECT_EQ(o.stderr_data, "e");
  EXPECT_EQ(std::getenv("PG_RUNNER_TEST"), nullptr);  // set in the child only
}

TEST_F(ProcessRunnerTest, AForkedChildIsKilledAtItsTimeout) {
  ProcessSpec spec;
  spec.argv = {"in-child"};
  spec.timeout_ms = 300;
  spec.in_child = [] {
    ::sleep(30);
    return 0;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto o = Run(spec);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(ProcessRunnerTest, KilledBySignal) {
  auto o = Run({.argv = {"sh", "-c", "kill -TERM $$"}});
  EXPECT_FALSE(o.exit_code);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_FALSE(o.timed_out);
}

TEST_F(ProcessRunnerTest, TimeoutKillsTheWholeGroupIncludingGrandchildren) {
  std::string pidfile = dir_ + "/grandchild.pid";
  auto t0 = std::chrono::steady_clock::now();
  auto o = Run({.argv = {"sh", "-c", "sh -c 'sleep 60 & echo $! > " + pidfile + "; wait' & wait"},
                .timeout_ms = 300});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.signal, SIGKILL);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_GE(o.wall_us, 300'000);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild) << "the grandchild did not start";
  for (int i = 0; i < 100 && Alive(grandchild); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(Alive(grandchild)) << "grandchild " << grandchild << " survived the timeout";
}

TEST_F(ProcessRunnerTest, LeftoverBackgroundProcessDoesNotHoldTheTask) {
  std::string pidfile = dir_ + "/bg.pid";
  auto t0 = std::chrono::steady_clock::now();
  auto o = Run({.argv = {"sh", "-c", "sleep 60 & echo $! > " + pidfile + "; echo done"}});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_data, "done\n");
  std::ifstream in(pidfile);
  pid_t bg = 0;
  ASSERT_TRUE(in >> bg);
  for (int i = 0; i < 100 && Alive(bg); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(Alive(bg));
}

TEST_F(ProcessRunnerTest, TruncatesAndCountsOutput) {
  auto o = Run({.argv = {"sh", "-c", "head -c 300000 /dev/zero; head -c 10 /dev/zero >&2"},
                .max_output_bytes = 1000});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_data, std::string(1000, '\0'));
  EXPECT_TRUE(o.stdout_truncated);
  EXPECT_EQ(o.stdout_bytes, 300000u);
  EXPECT_EQ(o.stderr_data.size(), 10u);
  EXPECT_FALSE(o.stderr_truncated);
}

// on_output sees each chunk while the child runs: the child waits for a file the callback
// creates on seeing the first line, so the run only ends (before its timeout) if the copy is live.
TEST_F(ProcessRunnerTest, OnOutputSeesChunksWhileTheChildRuns) {
  const std::string go = dir_ + "/go";
  std::string out_copy, err_copy;
  ProcessSpec spec{.argv = {"sh", "-c",
                            "echo first; echo e >&2; i=0; while [ ! -e \"$1\" ] && [ $i -lt 100 ]; "
                            "do sleep 0.05; i=$((i+1)); done; [ -e \"$1\" ] && head -c 5000 "
                            "/dev/zero | tr '\\0' x",
                            "sh", go},
                   .timeout_ms = 20000,
                   .max_output_bytes = 100};
  spec.on_output = [&](bool is_stderr, const char* data, size_t n) {
    (is_stderr ? err_copy : out_copy).append(data, n);
    if (out_copy.find("first\n") != std::string::npos) std::ofstream(go).put('1');
  };
  auto o = Run(spec);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(out_copy, "first\n" + std::string(5000, 'x'));  // all of it, past max_output_bytes
  EXPECT_EQ(err_copy, "e\n");
  EXPECT_EQ(o.stdout_data.size(), 100u);
  EXPECT_TRUE(o.stdout_truncated);
}

TEST_F(ProcessRunnerTest, BinaryOutputIsExact) {
  auto o = Run({.argv = {"printf", "\\000\\377\\001a"}});
  EXPECT_EQ(o.stdout_data, std::string("\0\xff\x01"
                                       "a",
                                       4));
}

TEST_F(ProcessRunnerTest, StdinLargerThanAPipeIsFedAndClosed) {
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i & 0xff);
  auto o = Run({.argv = {"cat"}, .stdin_data = big, .max_output_bytes = 2 << 20});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_data, big);
}

TEST_F(ProcessRunnerTest, ChildIgnoringStdinDoesNotHang) {
  auto o = Run({.argv = {"true"}, .stdin_data = std::string(1 << 20, 'x'), .timeout_ms = 10'000});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_FALSE(o.timed_out);
}

TEST_F(ProcessRunnerTest, EnvironmentAndPath) {
  ::setenv("PG_RUNNER_INHERITED", "yes", 1);
  auto o =
      Run({.argv = {"sh", "-c", "echo $FOO $PG_RUNNER_INHERITED"}, .env = {{"FOO", "bar baz"}}});
  EXPECT_EQ(o.stdout_data, "bar baz yes\n");
  // The event's PATH is where a bare program name is looked up.
  std::string bin = dir_ + "/bin";
  fs::create_directory(bin);
  { std::ofstream(bin + "/pg-hello") << "#!/bin/sh\necho hello from path\n"; }
  ::chmod((bin + "/pg-hello").c_str(), 0755);
  o = Run({.argv = {"pg-hello"}, .env = {{"PATH", bin + ":/usr/bin:/bin"}}});
  EXPECT_EQ(o.stdout_data, "hello from path\n");
}

TEST_F(ProcessRunnerTest, WorkingDirectoryAndRelativeProgram) {
  { std::ofstream(dir_ + "/tool.sh") << "#!/bin/sh\npwd\n"; }
  ::chmod((dir_ + "/tool.sh").c_str(), 0755);
  auto o = Run({.argv = {"./tool.sh"}, .cwd = dir_});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.stdout_data, dir_ + "\n");
}

TEST_F(ProcessRunnerTest, NonexistentProgram) {
  auto o = Run({.argv = {"pg-no-such-program-xyz", "a"}});
  EXPECT_FALSE(o.started);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_EQ(o.error, "program not found: pg-no-such-program-xyz");
  o = Run({.argv = {"/no/such/dir/prog"}});
  EXPECT_FALSE(o.started);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_EQ(o.error, "program not found: /no/such/dir/prog");
}

TEST_F(ProcessRunnerTest, NonExecutableFile) {
  { std::ofstream(dir_ + "/data.txt") << "not a program\n"; }
  auto o = Run({.argv = {dir_ + "/data.txt"}});
  EXPECT_FALSE(o.started);
  EXPECT_EQ(o.exit_code, 126);
  EXPECT_NE(o.error.find("cannot execute"), std::string::npos) << o.error;
}

TEST_F(ProcessRunnerTest, ShellModeTakesRestAsPositionalArguments) {
  auto o = Run({.argv = {"echo \"$0|$1\" | tr a-z A-Z", "first", "second"}, .shell = true});
  EXPECT_EQ(o.stdout_data, "FIRST|SECOND\n");
}

TEST_F(ProcessRunnerTest, ReportsCpuTime) {
  auto o = Run({.argv = {"sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"}});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_GT(o.cpu_user_us + o.cpu_sys_us, 10'000);
  EXPECT_GE(o.wall_us, o.cpu_user_us / 2);
}

TEST(FindInPathTest, SearchesInOrderAndKeepsSlashNames) {
  EXPECT_EQ(FindInPath("sh", "/nonexistent:/bin:/usr/bin"), "/bin/sh");
  EXPECT_EQ(FindInPath("./x", "/bin"), "./x");
  EXPECT_EQ(FindInPath("pg-no-such-program-xyz", "/bin:/usr/bin"), std::nullopt);
  EXPECT_EQ(FindInPath("", "/bin"), std::nullopt);
}

}  // namespace
}  // namespace parallelagram::os
