#include "driver/job_control.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

extern char** environ;

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A process that looks like a driver to /proc: its command line holds "parallelagram" and
// the word "run". With `ignore_term` it survives SIGTERM (a driver stuck in a system call).
pid_t SpawnFakeDriver(bool ignore_term) {
  std::string script = std::string(ignore_term ? "trap '' TERM; " : "") + "sleep 30; :";
  const char* argv[] = {"sh", "-c", script.c_str(), "parallelagram", "run", nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  // Until sh has set up its trap, SIGTERM would still kill it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return pid;
}

class JobControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/jobctl-" + std::to_string(getpid());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void WriteJob(const std::string& id, const json& info) {
    fs::create_directories(root_ + "/jobs/" + id);
    std::ofstream(root_ + "/jobs/" + id + "/job.json") << info.dump();
  }
  // StopJob on job "j" whose driver is a fake one (reaped as it dies, as a parent would).
  Result<StopOutcome> StopFakeDriver(bool ignore_term, int64_t wait_ms, pid_t* pid) {
    *pid = SpawnFakeDriver(ignore_term);
    if (*pid <= 0) return Status::Internal("cannot spawn the fake driver");
    WriteJob("j", {{"status", "running"}, {"pid", *pid}, {"total", 3}, {"backend", "local"}});
    std::thread reaper([p = *pid] {
      int st;
      waitpid(p, &st, 0);
    });
    auto r = StopJob(root_, "j", wait_ms);
    reaper.join();
    return r;
  }
  json ReadInfo(const std::string& id) {
    std::ifstream f(root_ + "/jobs/" + id + "/job.json");
    return json::parse(f);
  }

  std::string root_;
};

TEST_F(JobControlTest, OnlyALiveParallelagramRunIsADriver) {
  EXPECT_FALSE(IsLiveDriver(0));
  EXPECT_FALSE(IsLiveDriver(static_cast<int>(getpid())));  // not `parallelagram run`
  pid_t pid = SpawnFakeDriver(false);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(IsLiveDriver(pid));
  ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(IsLiveDriver(pid));  // a zombie is not alive
  int st;
  waitpid(pid, &st, 0);
  EXPECT_FALSE(IsLiveDriver(pid));
}

TEST_F(JobControlTest, StopsADriverThatExitsOnSigterm) {
  pid_t pid = 0;
  auto r = StopFakeDriver(false, 5000, &pid);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->how, StopOutcome::How::kStopped);
  EXPECT_EQ(r->pid, pid);
  EXPECT_EQ(r->status, "running");  // the fake driver did not record "cancelled" itself
}

TEST_F(JobControlTest, KillsADriverThatIgnoresSigtermAndMarksTheJob) {
  pid_t pid = 0;
  auto r = StopFakeDriver(true, 300, &pid);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->how, StopOutcome::How::kKilled);
  json info = ReadInfo("j");
  EXPECT_EQ(info["status"], "cancelled");
  EXPECT_EQ(info["backend"], "local");  // the other fields are kept
  EXPECT_FALSE(fs::exists(root_ + "/jobs/j/job.json.tmp"));
}

TEST_F(JobControlTest, MarksAJobWhoseDriverIsGoneAndLeavesEndedJobsAlone) {
  WriteJob("dead", {{"status", "running"}, {"pid", 0}, {"total", 1}});
  auto r = StopJob(root_, "dead", 1000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->how, StopOutcome::How::kMarkedDead);
  EXPECT_EQ(ReadInfo("dead")["status"], "cancelled");

  WriteJob("done", {{"status", "finished"}, {"pid", 0}, {"total", 1}});
  r = StopJob(root_, "done", 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->how, StopOutcome::How::kNotRunning);
  EXPECT_EQ(r->status, "finished");
  EXPECT_EQ(ReadInfo("done")["status"], "finished");

  EXPECT_EQ(StopJob(root_, "nope", 1000).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace parallelagram::driver
