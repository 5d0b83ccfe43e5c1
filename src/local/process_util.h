// Process helpers for execution environments: spawning a bootstrap in its own session,
// watching it through a pidfd, killing a whole session, sampling memory per session.
// All functions are thread-safe (they touch only the kernel).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::local {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // "NAME=value", the whole environment
  std::string cwd;
  int output_fd = -1;  // becomes the child's stdout and stderr; -1: /dev/null
};

// Starts the program as the leader of a new session (and process group), stdin from
// /dev/null, every descriptor above 2 closed. Errors: IoError naming the program.
Result<pid_t> SpawnInNewSession(const SpawnSpec& spec);

// A pidfd for `pid` (readable when it exits), or -1 if the kernel has none (then poll).
int OpenPidfd(pid_t pid);

// Sends `sig` to every process whose session id is `sid` (the leader's process group and
// any process groups its children made). Safe to call for a session that has ended.
// Cost: one scan of /proc.
void KillSession(pid_t sid, int sig);
// KillSession for many sessions with a single scan of /proc (shutdown of a thousand
// environments: one scan instead of one per environment).
void KillSessions(const std::vector<pid_t>& sids, int sig);

// The memory `pid` uses in KiB, as a cgroup would charge it: its proportional set size
// (pages shared with other processes split between them, so a fork's copy-on-write pages
// count once across parent and child), or `rss_kb` when /proc has no smaps_rollup.
int64_t MemoryKb(pid_t pid, int64_t rss_kb);

// Memory in KiB (MemoryKb) per session leader, summed over the processes of its tree that
// are still in its session (best effort: processes reparented away are not counted).
std::map<pid_t, int64_t> SessionRssKb(const std::vector<pid_t>& sids);

}  // namespace parallelagram::local
