#include "driver/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace parallelagram::driver {

Result<int64_t> TruncateTornTail(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return int64_t{0};
    return Status::IoError("cannot open '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) {
    ::close(fd);
    return int64_t{0};
  }
  // Scan backwards for the last '\n'.
  const off_t size = st.st_size;
  off_t end = size;
  char buf[4096];
  off_t keep = 0;
  bool found = false;
  while (end > 0 && !found) {
    off_t start = end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n != end - start) {
      ::close(fd);
      return Status::IoError("cannot read '" + path + "'");
    }
    for (off_t i = n - 1; i >= 0; --i) {
      if (buf[i] == '\n') {
        keep = start + i + 1;
        found = true;
        break;
      }
    }
    end = start;
  }
  if (keep == size) {
    ::close(fd);
    return int64_t{0};
  }
  int rc = ::ftruncate(fd, keep);
  ::close(fd);
  if (rc != 0) return Status::IoError("cannot repair '" + path + "': " + std::strerror(errno));
  return static_cast<int64_t>(size - keep);
}

Journal::~Journal() {
  if (f_) std::fclose(f_);
}

Status Journal::Open(const std::string& path) {
  PG_ASSIGN_OR_RETURN(int64_t cut, TruncateTornTail(path));
  (void)cut;
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) return Status::IoError("cannot write '" + path + "': " + std::strerror(errno));
  return Status::Ok();
}

void Journal::Append(const std::string& line) {
  if (!f_) return;
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fputc('\n', f_);
  ++lines_;
  int64_t now = SystemClock::Get().NowMonoUs() / 1000;
  if (now - last_flush_ms_ >= kFlushMs) {
    std::fflush(f_);
    last_flush_ms_ = now;
  }
}

void Journal::Run(int run, int pid, bool resume) {
  Append(nlohmann::json({{"t", "run"}, {"run", run}, {"pid", pid}, {"resume", resume}}).dump());
  Flush();
}

void Journal::AttemptStarted(int64_t seq, int attempt, bool duplicate) {
  std::string l =
      "{\"t\":\"d\",\"seq\":" + std::to_string(seq) + ",\"a\":" + std::to_string(attempt);
  if (duplicate) l += ",\"dup\":true";
  l += '}';
  Append(l);
}

void Journal::ResultObject(int64_t seq, const std::string& name) {
  Append(nlohmann::json({{"t", "obj"}, {"seq", seq}, {"name", name}}).dump());
}

void Journal::Retry(int64_t seq, int next_attempt) {
  Append("{\"t\":\"r\",\"seq\":" + std::to_string(seq) +
         ",\"next\":" + std::to_string(next_attempt) + "}");
}

void Journal::AttemptEnded(const AttemptEnd& a) {
  // Formatted by hand (one per answered invocation, on the driver's hot path); only `env`,
  // which comes from the worker, may need escaping.
  auto plain = [](const std::string& s) {
    for (char c : s) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    return true;
  };
  const std::string env =
      plain(a.env)
          ? "\"" + a.env + "\""
          : nlohmann::json(a.env).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Append(fmt::format(
      "{{\"t\":\"a\",\"seq\":{},\"a\":{},\"dup\":{},\"start_ms\":{},\"end_ms\":{},"
      "\"outcome\":\"{}\",\"env\":{},\"cold\":{},\"exit\":{},\"billed_ms\":{},\"memory_mb\":{},"
      "\"init_ms\":{},\"cost_usd\":{},\"est\":{}}}",
      a.seq, a.attempt, a.duplicate, a.start_ms, a.end_ms, a.outcome, env, a.cold,
      a.exit_code ? std::to_string(*a.exit_code) : std::string("null"), a.billed_ms, a.memory_mb,
      a.init_ms, a.cost_usd, a.estimate));
}

void Journal::End(const std::string& status) {
  Append(nlohmann::json({{"t", "end"}, {"status", status}}).dump());
  Flush();
}

void Journal::Flush() {
  if (!f_) return;
  std::fflush(f_);
  last_flush_ms_ = SystemClock::Get().NowMonoUs() / 1000;
}

void Journal::Sync() {
  if (!f_) return;
  Flush();
  (void)::fdatasync(::fileno(f_));
}

bool ParseResultObjectName(const std::string& name, int64_t* seq, int64_t* n) {
  // S.N.json with S, N decimal.
  const std::string suffix = ".json";
  if (name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  std::string core = name.substr(0, name.size() - suffix.size());
  size_t dot = core.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == core.size()) return false;
  auto digits = [](const std::string& s) {
    if (s.empty() || s.size() > 18) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  std::string a = core.substr(0, dot), b = core.substr(dot + 1);
  if (!digits(a) || !digits(b)) return false;
  *seq = std::stoll(a);
  *n = std::stoll(b);
  return true;
}

namespace journal_internal {

Status ReplayLines(const std::string& path, JournalReplay& out, bool (*want)(void*, int64_t),
                   void* ctx) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (::access(path.c_str(), F_OK) != 0) return Status::Ok();
    return Status::IoError("cannot read '" + path + "'");
  }
  std::string line;
  while (std::getline(f, line)) {
    // A line without its '\n' at the end of the file is torn, even when it parses.
    if (f.eof()) {
      if (!line.empty()) ++out.skipped;
      break;
    }
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("t") || !j["t"].is_string()) {
      ++out.skipped;
      continue;
    }
    ++out.lines;
    const std::string t = j["t"].get<std::string>();
    if (t == "run") {
      ++out.runs;
      out.last_end.clear();
      continue;
    }
    if (t == "end") {
      out.last_end = j.value("status", std::string("finished"));
      continue;
    }
    if (!j.contains("seq") || !j["seq"].is_number_integer()) {
      ++out.skipped;
      continue;
    }
    const int64_t seq = j["seq"].get<int64_t>();
    if (t == "obj") {
      std::string name = j.value("name", std::string());
      int64_t s = 0, n = 0;
      if (ParseResultObjectName(name, &s, &n) && n > out.max_object_number) {
        out.max_object_number = n;
      }
      if (want && !want(ctx, seq)) continue;
      out.tasks[seq].objects.push_back(name);
    } else if (t == "d") {
      if (want && !want(ctx, seq)) continue;
      JournalReplay::Task& task = out.tasks[seq];
      ++task.dispatches;
      task.attempt = std::max(task.attempt, j.value("a", 1));
    } else if (t == "r") {
      if (want && !want(ctx, seq)) continue;
      JournalReplay::Task& task = out.tasks[seq];
      ++task.answered;
      task.attempt = std::max(task.attempt, j.value("next", 1));
    }
  }
  return Status::Ok();
}

}  // namespace journal_internal

Result<JournalReplay> ReplayJournal(const std::string& path) {
  JournalReplay r;
  PG_RETURN_IF_ERROR(journal_internal::ReplayLines(path, r, nullptr, nullptr));
  return r;
}

}  // namespace parallelagram::driver
