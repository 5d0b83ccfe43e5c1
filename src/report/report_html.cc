#include "report/report_html.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "common/utf8.h"
#include "report/report_template.h"

namespace parallelagram::report {
namespace {

using json = nlohmann::json;

// Above this many tasks, only the stderr of tasks that did not succeed is embedded.
constexpr size_t kAllStderrTasks = 20000;
constexpr std::string_view kPlaceholder = "{{PG_REPORT_DATA}}";

json OptJson(const std::optional<int>& v) { return v ? json(*v) : json(); }

int64_t NanoUsd(double usd) { return static_cast<int64_t>(usd * 1e9 + 0.5); }

// `s` with every byte that is not well-formed UTF-8 (and NUL) replaced by U+FFFD.
std::string ValidText(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// Front coding of one command against the one before it: how many UTF-16 code units (what a
// JavaScript string's slice counts) of `prev` it starts with, whole characters only, and at
// which byte of `cur` its own rest starts. Both are valid UTF-8.
std::pair<size_t, size_t> SharedPrefix(const std::string& prev, const std::string& cur) {
  size_t bytes = 0, units = 0;
  while (bytes < prev.size() && bytes < cur.size()) {
    const size_t n = Utf8SequenceLength(cur, bytes);
    if (n == 0 || bytes + n > prev.size() || prev.compare(bytes, n, cur, bytes, n) != 0) break;
    bytes += n;
    units += n == 4 ? 2 : 1;
  }
  return {units, bytes};
}

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string ReportDataJson(const ReportData& d, const std::string& generated_at) {
  std::vector<std::string> outcomes = {"succeeded", "failed",    "timed_out", "oom",
                                       "crashed",   "throttled", "transport", "staging_error"};
  std::unordered_map<std::string, int> oidx;
  for (size_t i = 0; i < outcomes.size(); ++i) oidx[outcomes[i]] = static_cast<int>(i);
  auto outcome = [&](const std::string& o) {
    auto it = oidx.find(o);
    if (it != oidx.end()) return it->second;
    oidx[o] = static_cast<int>(outcomes.size());
    outcomes.push_back(o);
    return static_cast<int>(outcomes.size() - 1);
  };
  std::unordered_map<std::string, int> eidx;
  json envs = json::array();

  json seq = json::array(), n = json::array(), s = json::array(), dur = json::array(),
       o = json::array(), e = json::array(), f = json::array(), x = json::array(),
       c = json::array();
  int64_t t0 = d.bars.empty() ? 0 : d.bars.front().start_ms;
  for (const AttemptBar& b : d.bars) t0 = std::min(t0, b.start_ms);
  for (const AttemptBar& b : d.bars) {
    seq.push_back(b.seq);
    n.push_back(b.attempt);
    s.push_back(b.start_ms - t0);
    dur.push_back(b.end_ms - b.start_ms);
    o.push_back(outcome(b.outcome));
    int env = -1;
    if (!b.env.empty()) {
      auto [it, fresh] = eidx.emplace(b.env, static_cast<int>(envs.size()));
      if (fresh) envs.push_back(b.env);
      env = it->second;
    }
    e.push_back(env);
    f.push_back((b.cold ? 1 : 0) | (b.duplicate ? 2 : 0));
    x.push_back(OptJson(b.exit_code));
    c.push_back(NanoUsd(b.cost_usd));
  }
  json tseq = json::array(), cp = json::array(), cmd = json::array(), to = json::array(),
       tx = json::array(), sig = json::array(), rt = json::array(), att = json::array(),
       inv = json::array(), tc = json::array();
  json err = json::object();
  const bool all_stderr = d.tasks.size() <= kAllStderrTasks;
  std::string prev;
  for (const TaskRow& t : d.tasks) {
    tseq.push_back(t.seq);
    std::string command = ValidText(t.command);
    const auto [units, bytes] = SharedPrefix(prev, command);
    cp.push_back(units);
    cmd.push_back(command.substr(bytes));
    prev = std::move(command);
    to.push_back(t.outcome.empty() ? -1 : outcome(t.outcome));
    tx.push_back(OptJson(t.exit_code));
    sig.push_back(OptJson(t.signal));
    rt.push_back(t.runtime_ms);
    att.push_back(t.attempts);
    inv.push_back(t.invocations);
    tc.push_back(NanoUsd(t.cost_usd));
    if (!t.stderr_tail.empty() && (all_stderr || t.outcome != "succeeded")) {
      err[std::to_string(t.seq)] = t.stderr_tail;
    }
  }
  const Summary& sm = d.summary;
  json summary = {{"total", sm.total},
                  {"finished", sm.finished},
                  {"by_outcome", sm.by_outcome},
                  {"not_run", sm.not_run},
                  {"attempts", sm.attempts},
                  {"makespan_ms", sm.makespan_ms},
                  {"peak_concurrency", sm.peak_concurrency},
                  {"task_ms_sum", sm.task_ms_sum},
                  {"ideal_makespan_ms", sm.ideal_makespan_ms},
                  {"cost_usd", sm.cost_usd},
                  {"cost_estimate", sm.cost_estimate}};
  json j = {{"job", d.job_id},
            {"status", d.status},
            {"running", d.running},
            {"driver_gone", d.driver_gone},
            {"command", d.command},
            {"created_at", d.created_at},
            {"generated_at", generated_at},
            {"from_manifest", d.bars_from_manifest},
            {"notes", d.notes},
            {"t0", t0},
            {"envs", std::move(envs)},
            {"a",
             {{"seq", std::move(seq)},
              {"n", std::move(n)},
              {"s", std::move(s)},
              {"d", std::move(dur)},
              {"o", std::move(o)},
              {"e", std::move(e)},
              {"f", std::move(f)},
              {"x", std::move(x)},
              {"c", std::move(c)}}},
            {"t",
             {{"seq", std::move(tseq)},
              {"cp", std::move(cp)},
              {"cmd", std::move(cmd)},
              {"o", std::move(to)},
              {"x", std::move(tx)},
              {"sig", std::move(sig)},
              {"rt", std::move(rt)},
              {"att", std::move(att)},
              {"inv", std::move(inv)},
              {"c", std::move(tc)}}},
            {"err", std::move(err)},
            {"summary", std::move(summary)}};
  j["outcomes"] = outcomes;
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  // '<' appears only inside strings: \u003c there keeps "</script>" and "<!--" out of the page.
  std::string out;
  out.reserve(text.size() + 64);
  for (char ch : text) {
    if (ch == '<') {
      out += "\\u003c";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string RenderReportHtml(const ReportData& d, const std::string& generated_at) {
  std::string_view tpl = ReportTemplate();
  const size_t at = tpl.find(kPlaceholder);
  std::string html;
  const std::string data = ReportDataJson(d, generated_at);
  html.reserve(tpl.size() + data.size());
  html.append(tpl.substr(0, at));
  html.append(data);
  if (at != std::string_view::npos) html.append(tpl.substr(at + kPlaceholder.size()));
  return html;
}

Status WriteReport(const std::string& root, const std::string& job_id, const std::string& path,
                   ReportData* loaded) {
  PG_ASSIGN_OR_RETURN(ReportData d, LoadReportData(root, job_id));
  const std::string html = RenderReportHtml(d, NowUtc());
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IoError("cannot write the report '" + path + "'");
  const bool ok = std::fwrite(html.data(), 1, html.size(), f) == html.size();
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot write the report '" + path + "'");
  }
  if (loaded) *loaded = std::move(d);
  return Status::Ok();
}

}  // namespace parallelagram::report
