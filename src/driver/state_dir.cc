#include "driver/state_dir.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/clock.h"
#include "driver/journal.h"

namespace parallelagram::driver {
namespace fs = std::filesystem;

Result<std::string> ResolveStateRoot(const std::string& flag) {
  std::string root;
  if (!flag.empty()) {
    root = flag;
  } else if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) {
    root = std::string(x) + "/parallelagram";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    root = std::string(h) + "/.local/state/parallelagram";
  } else {
    return Status::InvalidArgument(
        "cannot find a state directory: set HOME or XDG_STATE_HOME, or pass --state-dir DIR");
  }
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) return Status::InvalidArgument("bad state directory '" + root + "': " + ec.message());
  return abs.lexically_normal().string();
}

std::string NewJobId() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::random_device rd;
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{:04x}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rd() & 0xffff);
}

JobState::~JobState() {
  if (results_) std::fclose(results_);
}

Status JobState::Create(const std::string& root, const std::string& job_id) {
  std::error_code ec;
  fs::create_directories(root + "/jobs", ec);
  if (ec) {
    return Status::IoError("cannot create state directory '" + root + "/jobs': " + ec.message() +
                           "; pass a writable --state-dir");
  }
  dir_ = root + "/jobs/" + job_id;
  if (::mkdir(dir_.c_str(), 0755) != 0) {
    if (errno == EEXIST) {
      return Status::AlreadyExists("job '" + job_id + "' already exists in " + root +
                                   "/jobs; choose another --job-id");
    }
    return Status::IoError("cannot create '" + dir_ + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

Status JobState::Open(const std::string& root, const std::string& job_id) {
  dir_ = root + "/jobs/" + job_id;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    return Status::NotFound("no job '" + job_id + "' in " + root +
                            "/jobs; 'parallelagram jobs' lists them");
  }
  auto cut = TruncateTornTail(dir_ + "/results.jsonl");
  if (!cut.ok()) return cut.status();
  return Status::Ok();
}

Status WriteJobJson(const std::string& job_dir, const nlohmann::json& info) {
  std::string tmp = job_dir + "/job.json.tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << info.dump(2) << "\n";
    if (!f) return Status::IoError("cannot write '" + tmp + "'");
  }
  std::error_code ec;
  fs::rename(tmp, job_dir + "/job.json", ec);
  if (ec) return Status::IoError("cannot write '" + job_dir + "/job.json': " + ec.message());
  return Status::Ok();
}

Status JobState::WriteJobInfo(const nlohmann::json& info) { return WriteJobJson(dir_, info); }

Status JobState::WriteTasks(int64_t n, const std::function<std::string(int64_t seq)>& line) {
  std::string path = dir_ + "/tasks.jsonl";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Status::IoError("cannot write '" + path + "': " + std::strerror(errno));
  for (int64_t seq = 1; seq <= n; ++seq) {
    std::string l = line(seq);
    std::fwrite(l.data(), 1, l.size(), f);
    std::fputc('\n', f);
  }
  bool bad = std::fclose(f) != 0;
  if (bad) return Status::IoError("cannot write '" + path + "'");
  std::string rpath = dir_ + "/results.jsonl";
  results_ = std::fopen(rpath.c_str(), "a");
  if (!results_) return Status::IoError("cannot write '" + rpath + "': " + std::strerror(errno));
  return Status::Ok();
}

void JobState::AppendResult(const std::string& line) {
  if (!results_) return;
  std::fwrite(line.data(), 1, line.size(), results_);
  std::fputc('\n', results_);
  int64_t now = SystemClock::Get().NowMonoUs() / 1000;
  if (now - last_flush_ms_ >= kResultFlushMs) {
    std::fflush(results_);
    last_flush_ms_ = now;
  }
}

void JobState::Flush() {
  if (results_) std::fflush(results_);
}

void JobState::Sync() {
  if (!results_) return;
  std::fflush(results_);
  (void)::fdatasync(::fileno(results_));
}

namespace {

JobSummary Summarize(const fs::path& dir) {
  JobSummary s;
  s.job_id = dir.filename().string();
  s.info = nlohmann::json::object();
  s.status = "unknown";
  std::ifstream jf(dir / "job.json");
  if (jf) {
    try {
      s.info = nlohmann::json::parse(jf);
      s.total = s.info.value("total", int64_t{0});
      s.status = s.info.value("status", std::string("unknown"));
      if (s.status == "running") {
        int pid = s.info.value("pid", 0);
        if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) s.status = "interrupted";
      }
    } catch (const std::exception&) {
      s.info = nlohmann::json::object();
    }
  }
  std::ifstream rf(dir / "results.jsonl");
  std::string line;
  while (std::getline(rf, line)) {
    if (line.empty()) continue;
    ++s.finished;
    // Cheap: the manifest writes "outcome" as a fixed field.
    if (line.find("\"outcome\":\"succeeded\"") != std::string::npos) {
      ++s.succeeded;
    } else {
      ++s.failed;
    }
  }
  return s;
}

}  // namespace

std::vector<JobSummary> ListJobs(const std::string& root) {
  std::vector<JobSummary> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/jobs", ec)) {
    if (e.is_directory(ec)) out.push_back(Summarize(e.path()));
  }
  std::sort(out.begin(), out.end(), [](const JobSummary& a, const JobSummary& b) {
    std::string ca = a.info.value("created_at", std::string());
    std::string cb = b.info.value("created_at", std::string());
    return ca != cb ? ca < cb : a.job_id < b.job_id;
  });
  return out;
}

Result<JobSummary> ReadJob(const std::string& root, const std::string& job_id) {
  fs::path dir = fs::path(root) / "jobs" / job_id;
  std::error_code ec;
  if (job_id.empty() || job_id.find('/') != std::string::npos || !fs::is_directory(dir, ec)) {
    return Status::NotFound("no job '" + job_id + "' in " + root +
                            "/jobs; 'parallelagram jobs' lists them");
  }
  return Summarize(dir);
}

Result<std::vector<nlohmann::json>> ReadResults(const std::string& root,
                                                const std::string& job_id) {
  PG_ASSIGN_OR_RETURN(JobSummary s, ReadJob(root, job_id));
  (void)s;
  std::vector<nlohmann::json> out;
  std::ifstream rf(fs::path(root) / "jobs" / job_id / "results.jsonl");
  std::string line;
  while (std::getline(rf, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      // A line cut short by a crash: skip it.
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("seq", int64_t{0}) < b.value("seq", int64_t{0});
  });
  return out;
}

}  // namespace parallelagram::driver
