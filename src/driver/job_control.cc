#include "driver/job_control.h"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace {

// Waits up to `ms` for `pid` to stop being a live driver; true when it did.
bool WaitGone(int pid, int64_t ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (!IsLiveDriver(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !IsLiveDriver(pid);
}

bool Running(const std::string& status) { return status == "running" || status == "starting"; }

}  // namespace

bool IsLiveDriver(int pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return false;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(st, stat);
  size_t rp = stat.rfind(')');
  if (rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] == 'Z') return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string cmd = ss.str();
  return cmd.find("parallelagram") != std::string::npos &&
         cmd.find(std::string("run") + '\0') != std::string::npos;
}

Status MarkJobCancelled(const std::string& job_dir) {
  std::ifstream f(job_dir + "/job.json");
  if (!f) return Status::NotFound("cannot read '" + job_dir + "/job.json'");
  auto info = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!info.is_object()) return Status::IoError("'" + job_dir + "/job.json' is damaged");
  info["status"] = "cancelled";
  return WriteJobJson(job_dir, info);
}

Result<StopOutcome> StopJob(const std::string& root, const std::string& job_id, int64_t wait_ms) {
  PG_ASSIGN_OR_RETURN(JobSummary summary, ReadJob(root, job_id));
  const std::string dir = root + "/jobs/" + job_id;
  StopOutcome out;
  out.pid = summary.info.value("pid", 0);
  out.status = summary.info.value("status", std::string());
  if (IsLiveDriver(out.pid) && Running(out.status)) {
    ::kill(out.pid, SIGTERM);
    if (WaitGone(out.pid, wait_ms)) {
      out.how = StopOutcome::How::kStopped;
      auto now = ReadJob(root, job_id);
      out.status = now.ok() ? now->info.value("status", std::string()) : "";
      return out;
    }
    ::kill(out.pid, SIGKILL);
    (void)WaitGone(out.pid, 2000);
    PG_RETURN_IF_ERROR(MarkJobCancelled(dir));
    out.how = StopOutcome::How::kKilled;
    out.status = "cancelled";
    return out;
  }
  if (Running(out.status) || summary.status == "interrupted") {
    PG_RETURN_IF_ERROR(MarkJobCancelled(dir));
    out.how = StopOutcome::How::kMarkedDead;
    out.status = "cancelled";
    return out;
  }
  out.how = StopOutcome::How::kNotRunning;
  return out;
}

}  // namespace parallelagram::driver
