#include "driver/state_dir.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <unordered_map>

#include "common/clock.h"
#include "common/json_text.h"
#include "driver/journal.h"

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

// $TMPDIR (else /tmp)/parallelagram-UID, made 0700 when missing; refused when it is not a
// directory of ours (another user of a shared /tmp could have made it first).
Result<std::string> TempStateRoot() {
  const char* t = std::getenv("TMPDIR");
  std::string root = fmt::format("{}/parallelagram-{}", t && *t ? t : "/tmp", geteuid());
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(fmt::format(
        "cannot make the state directory {}: {}; set XDG_STATE_HOME or give --state-dir DIR", root,
        std::strerror(errno)));
  }
  struct stat st {};
  if (lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
    return Status::InvalidArgument(
        fmt::format("{} is not a directory of this user, so it cannot hold the job state; set "
                    "XDG_STATE_HOME or give --state-dir DIR",
                    root));
  }
  return root;
}

}  // namespace

Result<std::string> ResolveStateRoot(const std::string& flag) {
  std::string root;
  if (!flag.empty()) {
    root = flag;
  } else if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) {
    root = std::string(x) + "/parallelagram";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    root = std::string(h) + "/.local/state/parallelagram";
  } else {
    // Inside Lambda (no HOME, only /tmp writable): under $TMPDIR, else /tmp.
    PG_ASSIGN_OR_RETURN(root, TempStateRoot());
    root = fs::path(root).lexically_normal().string();
    static std::once_flag said;
    std::call_once(said, [&] {
      std::fprintf(stderr,
                   "parallelagram: neither XDG_STATE_HOME nor HOME is set: jobs are recorded "
                   "in %s (set XDG_STATE_HOME or give --state-dir to choose)\n",
                   root.c_str());
    });
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
  if (tasks_) std::fclose(tasks_);
}

NewJobGuard::~NewJobGuard() {
  if (dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status CheckJobId(const std::string& job_id) {
  if (job_id.empty() || job_id == "." || job_id == ".." ||
      job_id.find_first_of(std::string("/\0", 2)) != std::string::npos || job_id.size() > 200) {
    return Status::InvalidArgument("'" + EscapeForMessage(job_id) +
                                   "' is not a job id: give one plain name (no '/', not '.' "
                                   "or '..'); 'parallelagram jobs' lists them");
  }
  return Status::Ok();
}

Status JobState::Create(const std::string& root, const std::string& job_id) {
  PG_RETURN_IF_ERROR(CheckJobId(job_id));
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
  PG_RETURN_IF_ERROR(CheckJobId(job_id));
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
    f << DumpLenient(info, 2) << "\n";  // never throws on bytes that are not UTF-8
    if (!f) return Status::IoError("cannot write '" + tmp + "'");
  }
  std::error_code ec;
  fs::rename(tmp, job_dir + "/job.json", ec);
  if (ec) return Status::IoError("cannot write '" + job_dir + "/job.json': " + ec.message());
  return Status::Ok();
}

Status JobState::WriteJobInfo(const nlohmann::json& info) { return WriteJobJson(dir_, info); }

Status JobState::OpenTasks() {
  std::string path = dir_ + "/tasks.jsonl";
  tasks_ = std::fopen(path.c_str(), "w");
  if (!tasks_) return Status::IoError("cannot write '" + path + "': " + std::strerror(errno));
  return results_.Open(dir_ + "/results.jsonl", /*truncate=*/false);
}

void JobState::AppendTask(const std::string& line) {
  if (!tasks_) return;
  std::fwrite(line.data(), 1, line.size(), tasks_);
  std::fputc('\n', tasks_);
}

void JobState::Flush() {
  if (tasks_) std::fflush(tasks_);
}

Status JobState::AppendResults(std::string_view lines) {
  if (tasks_) std::fflush(tasks_);  // a task's line is out before its result's
  return results_.Append(lines);
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
      // -1 while a streamed input is still being read (the count is written at the end).
      s.total = s.info.contains("total") && s.info["total"].is_number_integer()
                    ? s.info["total"].get<int64_t>()
                    : int64_t{-1};
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

Result<std::string> ResolveLastJob(const std::string& root, const std::string& job) {
  if (job != "last") return job;
  std::vector<JobSummary> jobs = ListJobs(root);
  if (jobs.empty()) return Status::NotFound("there are no jobs in " + root + "/jobs yet");
  return jobs.back().job_id;
}

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
  PG_RETURN_IF_ERROR(CheckJobId(job_id));
  if (!fs::is_directory(dir, ec)) {
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

namespace {

// The complete lines ('\n'-terminated) of a file, one at a time, with their offsets.
class LineReader {
 public:
  explicit LineReader(std::ifstream& f) : f_(f) {}
  // False at the end (a torn last line is not returned).
  bool Next(std::string& line, int64_t& offset) {
    offset = pos_;
    if (!std::getline(f_, line) || f_.eof()) return false;
    pos_ += static_cast<int64_t>(line.size()) + 1;
    return true;
  }

 private:
  std::ifstream& f_;
  int64_t pos_ = 0;
};

}  // namespace

Status AlignWithManifest(const std::string& state_dir, const std::string& path,
                         const std::string& header,
                         const std::function<int64_t(std::string_view)>& seq_of,
                         const std::function<std::string(const nlohmann::json&)>& make) {
  struct stat st {};
  int64_t size = 0;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return Status::Ok();
    size = static_cast<int64_t>(st.st_size);
  } else if (errno != ENOENT) {
    return Status::IoError("cannot read '" + path + "': " + std::strerror(errno));
  }
  const std::string head = header.empty() ? "" : header.substr(0, header.size() - 1);

  // The record's lines: per task, where its first complete line is.
  struct Span {
    int64_t offset, length;
  };
  std::unordered_map<int64_t, Span> have;
  bool has_header = header.empty();
  std::ifstream rec(path, std::ios::binary);
  if (size > 0 && !rec) return Status::IoError("cannot read '" + path + "'");
  {
    LineReader r(rec);
    std::string line;
    int64_t off = 0;
    bool first = true;
    while (r.Next(line, off)) {
      if (first && !header.empty() && line == head) {
        has_header = true;
      } else if (int64_t seq = seq_of(line); seq > 0) {
        have.try_emplace(seq, Span{off, static_cast<int64_t>(line.size()) + 1});
      }
      first = false;
    }
  }

  // The manifest, in its order: which line each task gets, and whether that is what the
  // record holds already (its lines in the same order, nothing else after the header).
  struct Out {
    int64_t seq;
    int64_t manifest_offset;  // the manifest line, when the record has none for seq
  };
  std::vector<Out> out;
  std::unordered_map<int64_t, bool> seen;
  bool changed = !has_header;
  int64_t expect = has_header ? static_cast<int64_t>(header.size()) : 0;
  const std::string mpath = state_dir + "/results.jsonl";
  std::ifstream man(mpath, std::ios::binary);
  {
    LineReader r(man);
    std::string line;
    int64_t off = 0;
    while (man && r.Next(line, off)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) continue;
      const auto seq = j["seq"].get<int64_t>();
      if (!seen.try_emplace(seq, true).second) continue;
      auto it = have.find(seq);
      if (it != have.end() && it->second.offset == expect) {
        expect += it->second.length;
      } else {
        changed = true;
      }
      out.push_back({seq, it == have.end() ? off : -1});
    }
  }
  if (!changed && expect == size) return Status::Ok();

  const std::string tmp = path + ".align.tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IoError("cannot write '" + tmp + "': " + std::strerror(errno));
  bool bad = !header.empty() && std::fwrite(header.data(), 1, header.size(), f) != header.size();
  rec.clear();
  man.clear();
  std::string buf, line;
  for (const Out& o : out) {
    if (o.manifest_offset < 0) {
      const Span& sp = have.at(o.seq);
      buf.resize(static_cast<size_t>(sp.length));
      rec.seekg(sp.offset);
      rec.read(buf.data(), sp.length);
      bad = bad || !rec;
    } else {
      man.seekg(o.manifest_offset);
      bad = bad || !std::getline(man, line);
      buf = make(nlohmann::json::parse(line, nullptr, false));
    }
    bad = bad || std::fwrite(buf.data(), 1, buf.size(), f) != buf.size();
  }
  bad = std::fclose(f) != 0 || bad;
  std::error_code ec;
  if (!bad) fs::rename(tmp, path, ec);
  if (bad || ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot rewrite '" + path +
                           "' to match the job's results manifest (disk full?)");
  }
  return Status::Ok();
}

}  // namespace parallelagram::driver
