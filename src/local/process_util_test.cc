#include "local/process_util.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace parallelagram::local {
namespace {

// True once `pid` is gone or a zombie (killed, awaiting its reaper).
bool Dead(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return true;
  size_t p = line.rfind(')');
  return p == std::string::npos || p + 2 >= line.size() || line[p + 2] == 'Z';
}

bool WaitDead(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    if (Dead(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Reads the pid a session's shell wrote (its background job's), waiting for it.
pid_t ReadPid(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream f(path);
    long v = 0;
    if (f >> v && v > 0) return static_cast<pid_t>(v);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

class ProcessUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/procutil-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override {
    for (pid_t p : leaders_) {
      kill(-p, SIGKILL);
      int st;
      waitpid(p, &st, 0);
    }
    for (pid_t p : jobs_) {
      if (p > 0) kill(p, SIGKILL);
    }
    std::filesystem::remove_all(dir_);
  }

  // A session whose shell runs `sleep 300` in a process group of its own, as the worker
  // runs a task; returns the leader (= session id).
  pid_t StartSession(int i) {
    std::string pidfile = dir_ + "/job" + std::to_string(i);
    SpawnSpec spec;
    spec.argv = {
        "/bin/sh", "-c",
        "perl -e 'setpgrp(0, 0); exec(\"sleep\", \"300\")' & echo $! > " + pidfile + "; wait"};
    spec.env = {"PATH=/usr/bin:/bin"};
    auto pid = SpawnInNewSession(spec);
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    if (!pid.ok()) return -1;
    leaders_.push_back(*pid);
    pid_t job = ReadPid(pidfile);
    jobs_.push_back(job);
    for (int k = 0; k < 500 && job > 0 && getpgid(job) != job; ++k) {  // until perl's setpgrp
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return *pid;
  }

  std::string dir_;
  std::vector<pid_t> leaders_, jobs_;
};

TEST_F(ProcessUtilTest, KillSessionsKillsEveryGroupOfEverySessionAtOnce) {
  std::vector<pid_t> sids;
  for (int i = 0; i < 3; ++i) sids.push_back(StartSession(i));
  ASSERT_EQ(jobs_.size(), 3u);
  for (size_t i = 0; i < jobs_.size(); ++i) {
    ASSERT_GT(jobs_[i], 0);
    ASSERT_NE(getpgid(jobs_[i]), sids[i]) << "the job must sit in a process group of its own";
    ASSERT_EQ(getsid(jobs_[i]), sids[i]);
  }
  pid_t bystander = StartSession(9);  // not named: must survive

  KillSessions(sids, SIGKILL);

  for (size_t i = 0; i < sids.size(); ++i) {
    EXPECT_TRUE(WaitDead(sids[i])) << "leader " << sids[i];
    EXPECT_TRUE(WaitDead(jobs_[i])) << "job in its own group " << jobs_[i];
  }
  EXPECT_FALSE(Dead(bystander));
  EXPECT_FALSE(Dead(jobs_.back()));
}

TEST_F(ProcessUtilTest, KillSessionsIgnoresEndedAndInvalidSessions) {
  pid_t sid = StartSession(0);
  KillSessions({sid}, SIGKILL);
  ASSERT_TRUE(WaitDead(sid));
  int st;
  ASSERT_EQ(waitpid(sid, &st, 0), sid);
  leaders_.clear();
  KillSessions({sid, 0, 1, -5}, SIGKILL);  // ended, and never our own group or init
  KillSessions({}, SIGKILL);
  KillSession(sid, SIGKILL);
  EXPECT_TRUE(WaitDead(jobs_[0]));
}

}  // namespace
}  // namespace parallelagram::local
