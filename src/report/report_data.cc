#include "report/report_data.h"

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "common/base64.h"
#include "common/json_text.h"

namespace parallelagram::report {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kTailBytes = 240;
constexpr size_t kCommandBytes = 240;

// Calls `fn` with each complete JSON-object line of `path`; notes a torn last line and lines
// that are not JSON. A missing file reads as empty.
Status ForEachLine(const std::string& path, const std::string& what,
                   std::vector<std::string>& notes, const std::function<void(const json&)>& fn) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return Status::Ok();
    return Status::IoError("cannot read '" + path + "'");
  }
  std::string line;
  int64_t bad = 0;
  while (std::getline(f, line)) {
    if (f.eof()) {  // no '\n': cut short by a crash mid-write
      if (!line.empty()) {
        notes.push_back("the last line of " + what + " is torn (cut short mid-write); ignored");
      }
      break;
    }
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad;
      continue;
    }
    fn(j);
  }
  if (bad > 0) {
    notes.push_back(std::to_string(bad) + " line(s) of " + what + " are not JSON; ignored");
  }
  return Status::Ok();
}

std::string Tail(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t from = s.size() - n;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  return "…" + s.substr(from);
}

std::string Head(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t to = n;
  while (to > 0 && (static_cast<unsigned char>(s[to]) & 0xC0) == 0x80) --to;
  return s.substr(0, to) + "…";
}

std::optional<int> OptInt(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

std::string Str(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) return BytesFromJson(*it).value_or("");
  return "";
}

std::string CommandLine(const json& info) {
  std::string c;
  if (!info.contains("command") || !info["command"].is_array()) return c;
  for (const auto& w : info["command"]) {
    if (!c.empty()) c += ' ';
    c += BytesFromJson(w).value_or(DumpLenient(w));
  }
  return c;
}

TaskRow RowOf(const json& r) {
  TaskRow t;
  t.seq = r.value("seq", int64_t{0});
  t.command = Head(Str(r, "command"), kCommandBytes);
  t.outcome = Str(r, "outcome");
  t.exit_code = OptInt(r, "exit_code");
  t.signal = OptInt(r, "signal");
  t.runtime_ms = static_cast<int64_t>(r.value("runtime_s", 0.0) * 1000.0 + 0.5);
  t.attempts = r.value("attempts", 0);
  t.invocations = r.value("invocations", 0);
  t.cost_usd = r.value("cost_usd", 0.0);
  std::string err = Str(r, "stderr");
  if (err.empty() && r.contains("stderr_b64") && r["stderr_b64"].is_string()) {
    err = Base64Decode(r["stderr_b64"].get<std::string>()).value_or("");
  }
  if (err.empty() && r.contains("stderr_file")) err = "(stderr in " + Str(r, "stderr_file") + ")";
  t.stderr_tail = Tail(err, kTailBytes);
  // The function's log tail (Lambda's END/REPORT lines, a crash's message) after it.
  std::string log = Str(r, "log_tail");
  if (!log.empty()) {
    if (!t.stderr_tail.empty() && t.stderr_tail.back() != '\n') t.stderr_tail += '\n';
    t.stderr_tail += "[function log] " + Tail(log, kTailBytes);
  }
  return t;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

Summary Summarise(const std::vector<AttemptBar>& bars, const std::vector<TaskRow>& tasks,
                  int64_t total, double job_cost_usd) {
  Summary s;
  s.total = total;
  s.finished = static_cast<int64_t>(tasks.size());
  double manifest_cost = 0;
  for (const TaskRow& t : tasks) {
    if (t.outcome.empty()) {
      --s.finished;
      continue;
    }
    ++s.by_outcome[t.outcome];
    s.task_ms_sum += t.runtime_ms;
    manifest_cost += t.cost_usd;
  }
  s.not_run = total >= 0 ? std::max<int64_t>(0, total - s.finished) : 0;
  s.attempts = static_cast<int64_t>(bars.size());
  int64_t first = INT64_MAX, last = INT64_MIN;
  std::vector<std::pair<int64_t, int>> edges;
  edges.reserve(bars.size() * 2);
  for (const AttemptBar& b : bars) {
    first = std::min(first, b.start_ms);
    last = std::max(last, b.end_ms);
    if (b.outcome == "throttled") continue;
    edges.emplace_back(b.start_ms, +1);
    edges.emplace_back(std::max(b.end_ms, b.start_ms), -1);
  }
  if (!bars.empty()) s.makespan_ms = last - first;
  std::sort(edges.begin(), edges.end());  // an end (-1) before a start at the same ms
  int64_t running = 0;
  for (const auto& e : edges) {
    running += e.second;
    s.peak_concurrency = std::max(s.peak_concurrency, running);
  }
  if (s.peak_concurrency > 0) {
    s.ideal_makespan_ms =
        static_cast<double>(s.task_ms_sum) / static_cast<double>(s.peak_concurrency);
  }
  s.cost_usd = job_cost_usd >= 0 ? job_cost_usd : manifest_cost;
  return s;
}

Result<ReportData> LoadReportData(const std::string& root, const std::string& job_id) {
  const std::string dir = root + "/jobs/" + job_id;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("there is no job '" + job_id + "' in " + root +
                            "/jobs; 'parallelagram jobs' lists them");
  }
  ReportData d;
  d.job_id = job_id;
  json info = json::object();
  {
    std::ifstream f(dir + "/job.json", std::ios::binary);
    if (f) {
      info = json::parse(f, nullptr, false);
      if (info.is_discarded() || !info.is_object()) {
        d.notes.push_back("job.json is not readable JSON; the job's status is unknown");
        info = json::object();
      }
    } else {
      d.notes.push_back("job " + job_id + " has no job.json; its status is unknown");
    }
  }
  d.status = info.value("status", std::string("unknown"));
  d.command = CommandLine(info);
  d.created_at = info.value("created_at", std::string());
  if (d.status == "running" || d.status == "starting") {
    if (ProcessAlive(info.value("pid", int64_t{0}))) {
      d.running = true;
    } else {
      d.driver_gone = true;
    }
  }

  // Tasks: the manifest, and the commands of tasks dispatched but not finished (tasks.jsonl).
  std::unordered_map<int64_t, size_t> index;
  PG_RETURN_IF_ERROR(
      ForEachLine(dir + "/results.jsonl", "results.jsonl", d.notes, [&](const json& r) {
        TaskRow t = RowOf(r);
        if (t.seq <= 0 || index.count(t.seq) != 0) return;
        index[t.seq] = d.tasks.size();
        d.tasks.push_back(std::move(t));
      }));
  int64_t task_lines = 0;
  std::unordered_map<int64_t, std::string> commands;  // of tasks not in the manifest
  PG_RETURN_IF_ERROR(ForEachLine(dir + "/tasks.jsonl", "tasks.jsonl", d.notes, [&](const json& r) {
    ++task_lines;
    int64_t seq = r.value("seq", int64_t{0});
    if (seq > 0 && index.count(seq) == 0) commands[seq] = Head(Str(r, "command"), kCommandBytes);
  }));

  PG_RETURN_IF_ERROR(
      ForEachLine(dir + "/journal.jsonl", "journal.jsonl", d.notes, [&](const json& j) {
        if (j.value("t", std::string()) != "a") return;
        AttemptBar b;
        b.seq = j.value("seq", int64_t{0});
        b.attempt = j.value("a", 0);
        b.duplicate = j.value("dup", false);
        b.start_ms = j.value("start_ms", int64_t{0});
        b.end_ms = std::max(b.start_ms, j.value("end_ms", int64_t{0}));
        b.outcome = j.value("outcome", std::string("unknown"));
        b.env = Str(j, "env");
        b.cold = j.value("cold", false);
        b.exit_code = OptInt(j, "exit");
        b.billed_ms = j.value("billed_ms", int64_t{0});
        b.cost_usd = j.value("cost_usd", 0.0);
        d.bars.push_back(std::move(b));
      }));
  if (d.bars.empty() && !d.tasks.empty()) {  // an older job: one bar per finished task
    d.bars_from_manifest = true;
    std::ifstream f(dir + "/results.jsonl", std::ios::binary);
    std::string line;
    while (std::getline(f, line) && !f.eof()) {
      json r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object()) continue;
      AttemptBar b;
      b.seq = r.value("seq", int64_t{0});
      b.attempt = r.value("attempts", 1);
      b.duplicate = r.value("duplicate", false);
      b.start_ms = static_cast<int64_t>(r.value("start", 0.0) * 1000.0);
      b.end_ms = b.start_ms + static_cast<int64_t>(r.value("runtime_s", 0.0) * 1000.0);
      b.outcome = Str(r, "outcome");
      b.exit_code = OptInt(r, "exit_code");
      b.cost_usd = r.value("cost_usd", 0.0);
      d.bars.push_back(std::move(b));
    }
    d.notes.push_back(
        "the journal has no per-attempt lines (a job made before they existed): "
        "one bar per finished task");
  }
  std::stable_sort(d.bars.begin(), d.bars.end(), [](const AttemptBar& a, const AttemptBar& b) {
    return a.start_ms < b.start_ms;
  });
  for (const AttemptBar& b : d.bars) {  // tasks only dispatched so far
    if (index.count(b.seq) != 0) continue;
    TaskRow t;
    t.seq = b.seq;
    auto c = commands.find(b.seq);
    if (c != commands.end()) t.command = c->second;
    index[b.seq] = d.tasks.size();
    d.tasks.push_back(std::move(t));
  }
  std::sort(d.tasks.begin(), d.tasks.end(),
            [](const TaskRow& a, const TaskRow& b) { return a.seq < b.seq; });

  int64_t total = -1;
  if (info.contains("total") && info["total"].is_number_integer()) {
    total = info["total"].get<int64_t>();
  }
  if (total < 0 && (d.running || d.driver_gone)) total = std::max<int64_t>(task_lines, -1);
  const double job_cost = info.contains("cost_usd") && info["cost_usd"].is_number()
                              ? info["cost_usd"].get<double>()
                              : -1.0;
  d.summary = Summarise(d.bars, d.tasks, total, job_cost);
  d.summary.cost_estimate = info.value("cost_estimate", false);
  return d;
}

}  // namespace parallelagram::report
