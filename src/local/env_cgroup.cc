#include "local/env_cgroup.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>

#include "local/process_util.h"

namespace parallelagram::local {
namespace {

constexpr const char* kBasePrefix = "parallelagram-local-";

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return static_cast<bool>(f);
}

// This process's cgroup v2 directory, or "" when there is none mounted.
std::string OwnCgroupDir() {
  std::ifstream cg("/proc/self/cgroup");
  std::string own;
  for (std::string line; std::getline(cg, line);) {
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  }
  if (own.empty()) return "";
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream in(line.substr(0, dash));
    std::string id, parent, dev, root, mount;
    in >> id >> parent >> dev >> root >> mount;
    if (root == "/") return mount + (own == "/" ? "" : own);
    if (own.rfind(root, 0) == 0) return mount + own.substr(root.size());
  }
  return "";
}

std::vector<pid_t> ReadPids(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream f(dir + "/cgroup.procs");
  for (pid_t p; f >> p;) out.push_back(p);
  return out;
}

// Kills and removes a cgroup directory; false while processes are still leaving it.
bool KillAndRemove(const std::string& dir) {
  WriteFile(dir + "/cgroup.kill", "1");
  return rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

// The directory every environment cgroup of this process goes under, and the ones that
// could not be removed yet (their processes were still dying).
struct Registry {
  std::mutex mu;
  bool probed = false;
  std::string base;  // "" when cgroups are not available
  std::vector<std::string> pending;

  // Removes what an earlier local-lambda that died left behind (its base directory, and the
  // processes that escaped into its cgroups), then makes ours.
  void Probe() {
    probed = true;
    const std::string own = OwnCgroupDir();
    if (own.empty()) return;
    if (DIR* d = opendir(own.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n.rfind(kBasePrefix, 0) != 0) continue;
        const pid_t pid =
            static_cast<pid_t>(std::atoi(n.c_str() + std::string(kBasePrefix).size()));
        if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
        SweepBase(own + "/" + n);
      }
      closedir(d);
    }
    const std::string dir = own + "/" + kBasePrefix + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return;
    struct stat st {};
    if (stat((dir + "/cgroup.kill").c_str(), &st) != 0) {  // no cgroup.kill: Linux < 5.14
      rmdir(dir.c_str());
      return;
    }
    base = dir;
  }

  static void SweepBase(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != ".." && e->d_type == DT_DIR) KillAndRemove(dir + "/" + n);
      }
      closedir(d);
    }
    rmdir(dir.c_str());
  }

  void RetryPending() {
    std::vector<std::string> still;
    for (const auto& dir : pending) {
      if (!KillAndRemove(dir)) still.push_back(dir);
    }
    pending = std::move(still);
  }

  ~Registry() {
    if (base.empty()) return;
    for (int i = 0; i < 100 && !pending.empty(); ++i) {
      RetryPending();
      if (!pending.empty()) usleep(10000);
    }
    SweepBase(base);
  }
};

Registry& TheRegistry() {
  static Registry r;
  return r;
}

}  // namespace

std::unique_ptr<EnvCgroup> EnvCgroup::Make(const std::string& name) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  if (!r.probed) r.Probe();
  if (r.base.empty()) return nullptr;
  r.RetryPending();
  const std::string dir = r.base + "/" + name;
  if (mkdir(dir.c_str(), 0755) != 0) return nullptr;
  return std::unique_ptr<EnvCgroup>(new EnvCgroup(dir));
}

const char* EnvCgroup::Mechanism() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  if (!r.probed) r.Probe();
  return r.base.empty() ? "session" : "cgroup";
}

EnvCgroup::~EnvCgroup() {
  if (KillAndRemove(dir_)) return;
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.pending.push_back(dir_);
}

bool EnvCgroup::Add(pid_t pid) const {
  return WriteFile(dir_ + "/cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> EnvCgroup::Pids() const { return ReadPids(dir_); }

void EnvCgroup::KillAll() const { WriteFile(dir_ + "/cgroup.kill", "1"); }

int64_t EnvCgroup::RssKb() const {
  static const long kPageKb = sysconf(_SC_PAGESIZE) / 1024;
  int64_t total = 0;
  for (pid_t p : Pids()) {
    std::ifstream f("/proc/" + std::to_string(p) + "/statm");
    int64_t size = 0;
    int64_t resident = 0;
    if (f >> size >> resident) total += MemoryKb(p, resident * kPageKb);
  }
  return total;
}

}  // namespace parallelagram::local
