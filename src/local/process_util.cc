#include "local/process_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace parallelagram::local {
namespace {

struct ProcStat {
  pid_t pid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  int64_t rss_pages = 0;
};

// Reads the start of /proc/PID/NAME into `buf` (NUL-terminated); false if there is none.
bool ReadProcFile(pid_t pid, const char* name, char* buf, size_t size) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  return true;
}

// Reads /proc/PID/stat; false if the process vanished.
bool ReadStat(pid_t pid, ProcStat* out) {
  char buf[1024];
  if (!ReadProcFile(pid, "stat", buf, sizeof buf)) return false;
  char* p = std::strrchr(buf, ')');
  if (p == nullptr) return false;
  // Fields after comm: 3 state, 4 ppid, 5 pgrp, 6 session, ... 24 rss.
  char state;
  long ppid, pgrp, session;
  if (std::sscanf(p + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) != 4) return false;
  int field = 2;
  char* q = p + 1;
  long long rss = 0;
  while (*q && field < 24) {
    while (*q == ' ') ++q;
    ++field;
    if (field == 24) {
      rss = std::atoll(q);
      break;
    }
    while (*q && *q != ' ') ++q;
  }
  out->pid = pid;
  out->pgrp = static_cast<pid_t>(pgrp);
  out->session = static_cast<pid_t>(session);
  out->rss_pages = rss;
  return true;
}

template <typename F>
void ForEachProcess(F f) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ProcStat st;
    if (ReadStat(static_cast<pid_t>(std::atol(e->d_name)), &st)) f(st);
  }
  closedir(d);
}

}  // namespace

Result<pid_t> SpawnInNewSession(const SpawnSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidArgument("no program to start");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (spec.output_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, spec.output_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, spec.output_fd, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, spec.argv[0].c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Status::IoError("cannot start " + spec.argv[0] + ": " + std::strerror(rc));
  }
  return pid;
}

int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

int64_t MemoryKb(pid_t pid, int64_t rss_kb) {
  char buf[4096];
  if (!ReadProcFile(pid, "smaps_rollup", buf, sizeof buf)) return rss_kb;
  const char* pss = std::strstr(buf, "\nPss:");
  if (pss == nullptr) return rss_kb;
  return std::strtoll(pss + 5, nullptr, 10);
}

void KillSession(pid_t sid, int sig) { KillSessions({sid}, sig); }

void KillSessions(const std::vector<pid_t>& sids, int sig) {
  std::set<pid_t> wanted;
  for (pid_t sid : sids) {
    if (sid <= 1) continue;
    kill(-sid, sig);
    wanted.insert(sid);
  }
  if (wanted.empty()) return;
  std::set<pid_t> groups;
  ForEachProcess([&](const ProcStat& st) {
    if (st.pgrp != st.session && wanted.count(st.session)) groups.insert(st.pgrp);
  });
  for (pid_t g : groups) {
    if (g > 1) kill(-g, sig);
  }
}

std::map<pid_t, int64_t> SessionRssKb(const std::vector<pid_t>& sids) {
  // Walks each leader's process tree through /proc/PID/task/TID/children rather than
  // scanning all of /proc: the cost is proportional to the environments' own processes,
  // which matters because this runs on the service thread.
  std::map<pid_t, int64_t> out;
  static const long kPageKb = sysconf(_SC_PAGESIZE) / 1024;
  for (pid_t sid : sids) {
    std::vector<pid_t> todo = {sid};
    std::set<pid_t> seen;
    int64_t total = 0;
    while (!todo.empty() && seen.size() < 4096) {
      pid_t pid = todo.back();
      todo.pop_back();
      if (!seen.insert(pid).second) continue;
      ProcStat st;
      if (!ReadStat(pid, &st) || st.session != sid) continue;
      total += MemoryKb(pid, st.rss_pages * kPageKb);
      char dir[64];
      std::snprintf(dir, sizeof dir, "/proc/%d/task", static_cast<int>(pid));
      DIR* d = opendir(dir);
      if (d == nullptr) continue;
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[512];
        std::snprintf(path, sizeof path, "%s/%s/children", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        for (char* p = buf; *p;) {
          char* end = nullptr;
          long child = std::strtol(p, &end, 10);
          if (end == p) break;
          todo.push_back(static_cast<pid_t>(child));
          p = end;
        }
      }
      closedir(d);
    }
    out[sid] = total;
  }
  return out;
}

}  // namespace parallelagram::local
