// One execution environment's processes held in a cgroup (v2) of their own, where this
// process may make one (root, or a delegated cgroup with cgroup.kill: Linux 5.14+). A process
// that leaves the environment's session (`setsid`, a double fork) stays in the cgroup, so it
// is killed with the environment and counted for its memory. Where no cgroup can be made,
// environments are tracked by their session only (docs/local-lambda.md says so).
//
// The cgroups live under <this process's cgroup>/parallelagram-local-<pid>/, made on first
// use and removed at exit. Thread-safe: each object touches only its own directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace parallelagram::local {

class EnvCgroup {
 public:
  // A new, empty cgroup named `name` (unique among this process's environments); nullptr
  // when cgroups are not available here (then Mechanism() says "session").
  static std::unique_ptr<EnvCgroup> Make(const std::string& name);
  // "cgroup" or "session": how environments' processes are tracked in this process.
  static const char* Mechanism();

  // Kills what is left and removes the directory (retried at exit if it is still busy).
  ~EnvCgroup();
  EnvCgroup(const EnvCgroup&) = delete;
  EnvCgroup& operator=(const EnvCgroup&) = delete;

  // Moves `pid` (and the children it makes from now on) into the cgroup. False on failure.
  bool Add(pid_t pid) const;
  // The processes in it now.
  std::vector<pid_t> Pids() const;
  // SIGKILL to every process in it (cgroup.kill): those that left the session included.
  void KillAll() const;
  // Memory of its processes in KiB (MemoryKb of each: shared pages counted once).
  int64_t RssKb() const;

 private:
  explicit EnvCgroup(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace parallelagram::local
