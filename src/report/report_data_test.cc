// The report's model of a job (report_data.h) and its page (report_html.h): read from state
// directories written by hand (torn lines, running jobs, old jobs) and by a real RunJob.
#include "report/report_data.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "driver/testing.h"
#include "report/report_html.h"

namespace parallelagram::report {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string AttemptLine(int64_t seq, int a, int64_t start, int64_t end, const std::string& outcome,
                        const std::string& env, bool cold, bool dup = false, double cost = 0.001) {
  json j = {{"t", "a"},
            {"seq", seq},
            {"a", a},
            {"dup", dup},
            {"start_ms", start},
            {"end_ms", end},
            {"outcome", outcome},
            {"env", env},
            {"cold", cold},
            {"exit", outcome == "succeeded" ? json(0) : json()},
            {"billed_ms", end - start},
            {"memory_mb", 128},
            {"init_ms", 0},
            {"cost_usd", cost},
            {"est", false}};
  return j.dump() + "\n";
}

std::string ResultLine(int64_t seq, const std::string& outcome, int exit_code, int attempts,
                       int invocations, double runtime_s, double cost, const std::string& err) {
  json j = {{"seq", seq},           {"command", "x " + std::to_string(seq)},
            {"outcome", outcome},   {"exit_code", exit_code},
            {"attempts", attempts}, {"invocations", invocations},
            {"start", 1.0},         {"runtime_s", runtime_s},
            {"cost_usd", cost}};
  if (!err.empty()) j["stderr"] = err;
  return j.dump() + "\n";
}

class ReportDataTest : public driver::testing::ScratchDirTest {
 protected:
  ReportDataTest() : ScratchDirTest("report") {}
  std::string Root() const { return dir_.string(); }
  fs::path Job(const std::string& id, const json& info) {
    fs::path p = dir_ / "jobs" / id;
    fs::create_directories(p);
    std::ofstream(p / "job.json") << info.dump();
    return p;
  }
  // Three tasks: 1 succeeds at once (cold), 2 is throttled, crashes, then succeeds on 1's
  // environment, 3 fails and its speculative duplicate fails too; the journal's and the
  // manifest's last lines are torn.
  fs::path FinishedJob() {
    fs::path d = Job("j1", {{"job_id", "j1"},
                            {"status", "finished"},
                            {"total", 3},
                            {"cost_usd", 0.006},
                            {"command", {"sh", "-c", "x {}"}}});
    std::string journal = "{\"t\":\"run\",\"run\":1,\"pid\":1,\"resume\":false}\n";
    journal += "{\"t\":\"d\",\"seq\":1,\"a\":1}\n";
    journal += AttemptLine(1, 1, 1000, 1500, "succeeded", "e1", true);
    journal += AttemptLine(2, 1, 1000, 1001, "throttled", "", false, false, 0);
    journal += AttemptLine(2, 1, 1100, 1300, "crashed", "e2", true);
    journal += AttemptLine(3, 1, 1200, 2000, "failed", "e3", true);
    journal += AttemptLine(3, 1, 1400, 2100, "failed", "e4", true, true);
    journal += AttemptLine(2, 2, 1600, 3000, "succeeded", "e1", false);
    journal += "{\"t\":\"end\",\"status\":\"finis";  // torn
    std::ofstream(d / "journal.jsonl") << journal;
    std::ofstream(d / "results.jsonl")
        << ResultLine(1, "succeeded", 0, 1, 1, 0.5, 0.001, "one</script><!--b")
        << ResultLine(2, "succeeded", 0, 2, 3, 1.4, 0.002, "")
        << ResultLine(3, "failed", 1, 1, 2, 0.8, 0.002, "boom") << "{\"seq\":4,\"outco";
    return d;
  }
};

TEST_F(ReportDataTest, ReadsAttemptsTasksAndSummaryAndNotesTornLines) {
  FinishedJob();
  auto d = LoadReportData(Root(), "j1");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->status, "finished");
  EXPECT_FALSE(d->running);
  EXPECT_FALSE(d->bars_from_manifest);
  EXPECT_EQ(d->command, "sh -c x {}");
  ASSERT_EQ(d->bars.size(), 6u);
  EXPECT_EQ(d->bars[0].start_ms, 1000);  // sorted by start
  EXPECT_EQ(d->bars[5].seq, 2);
  EXPECT_EQ(d->bars[5].attempt, 2);
  EXPECT_TRUE(d->bars[4].duplicate);
  ASSERT_EQ(d->tasks.size(), 3u);
  EXPECT_EQ(d->tasks[2].stderr_tail, "boom");
  ASSERT_EQ(d->notes.size(), 2u);
  EXPECT_NE(d->notes[0].find("results.jsonl is torn"), std::string::npos) << d->notes[0];
  EXPECT_NE(d->notes[1].find("journal.jsonl is torn"), std::string::npos) << d->notes[1];
  const Summary& s = d->summary;
  EXPECT_EQ(s.total, 3);
  EXPECT_EQ(s.finished, 3);
  EXPECT_EQ(s.by_outcome.at("succeeded"), 2);
  EXPECT_EQ(s.by_outcome.at("failed"), 1);
  EXPECT_EQ(s.not_run, 0);
  EXPECT_EQ(s.attempts, 6);
  EXPECT_EQ(s.makespan_ms, 2000);  // 1000 .. 3000
  // 1200-1300: tasks 1, 2 (crashed) and 3; 1400-1500: 1, 3 and 3's duplicate; 1600-2000: 3,
  // its duplicate and 2's retry. Never 4.
  EXPECT_EQ(s.peak_concurrency, 3);
  EXPECT_EQ(s.task_ms_sum, 2700);
  EXPECT_DOUBLE_EQ(s.ideal_makespan_ms, 900.0);
  EXPECT_DOUBLE_EQ(s.cost_usd, 0.006);  // job.json's
}

TEST_F(ReportDataTest, PeakConcurrencyLeavesThrottlesOutAndEndsBeforeStarts) {
  std::vector<AttemptBar> bars(4);
  bars[0] = {1, 1, false, 0, 100, "succeeded"};
  bars[1] = {2, 1, false, 100, 200, "succeeded"};  // starts as 1 ends: not concurrent
  bars[2] = {3, 1, false, 150, 151, "throttled"};
  bars[3] = {3, 1, false, 150, 300, "failed"};
  std::vector<TaskRow> tasks(2);
  tasks[0].outcome = "succeeded";
  tasks[0].runtime_ms = 100;
  tasks[0].cost_usd = 0.5;
  tasks[1].outcome = "";  // not finished
  Summary s = Summarise(bars, tasks, 5, -1);
  EXPECT_EQ(s.peak_concurrency, 2);
  EXPECT_EQ(s.makespan_ms, 300);
  EXPECT_EQ(s.finished, 1);
  EXPECT_EQ(s.not_run, 4);
  EXPECT_DOUBLE_EQ(s.ideal_makespan_ms, 50.0);
  EXPECT_DOUBLE_EQ(s.cost_usd, 0.5);  // no job total: the manifest's
}

TEST_F(ReportDataTest, AnUnknownJobIsNotFoundNamingIt) {
  auto d = LoadReportData(Root(), "nope");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kNotFound);
  EXPECT_NE(d.status().message().find("'nope'"), std::string::npos);
}

TEST_F(ReportDataTest, ARunningJobIsReportedSoFarAndAKilledOneAsGone) {
  fs::path d = Job("live", {{"status", "running"}, {"pid", ::getpid()}, {"total", 10}});
  std::ofstream(d / "journal.jsonl") << AttemptLine(4, 1, 10, 20, "succeeded", "e", true)
                                     << AttemptLine(5, 1, 15, 40, "failed", "f", true);
  std::ofstream(d / "tasks.jsonl") << "{\"seq\":4,\"command\":\"c4\"}\n"
                                   << "{\"seq\":5,\"command\":\"c5\"}\n";
  std::ofstream(d / "results.jsonl") << ResultLine(4, "succeeded", 0, 1, 1, 0.01, 0, "");
  auto r = LoadReportData(Root(), "live");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->running);
  EXPECT_EQ(r->summary.finished, 1);
  EXPECT_EQ(r->summary.not_run, 9);
  ASSERT_EQ(r->tasks.size(), 2u);  // 5 only dispatched: its command from tasks.jsonl
  EXPECT_EQ(r->tasks[1].command, "c5");
  EXPECT_EQ(r->tasks[1].outcome, "");
  EXPECT_NE(RenderReportHtml(*r, "now").find("\"running\":true"), std::string::npos);

  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid nobody has now
  Job("dead", {{"status", "running"}, {"pid", child}});
  auto g = LoadReportData(Root(), "dead");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->running);
  EXPECT_TRUE(g->driver_gone);
}

TEST_F(ReportDataTest, AJobWithoutAttemptLinesGetsOneBarPerFinishedTask) {
  fs::path d = Job("old", {{"status", "finished"}, {"total", 2}});
  std::ofstream(d / "journal.jsonl") << "{\"t\":\"d\",\"seq\":1,\"a\":1}\n";
  std::ofstream(d / "results.jsonl") << ResultLine(1, "succeeded", 0, 1, 1, 0.25, 0, "")
                                     << ResultLine(2, "failed", 2, 1, 1, 0.5, 0, "");
  auto r = LoadReportData(Root(), "old");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->bars_from_manifest);
  ASSERT_EQ(r->bars.size(), 2u);
  EXPECT_EQ(r->bars[1].end_ms - r->bars[1].start_ms, 500);
  EXPECT_EQ(r->bars[1].outcome, "failed");
}

TEST_F(ReportDataTest, ThePageEmbedsParseableDataAndNothingCanCloseItsScript) {
  FinishedJob();
  auto d = LoadReportData(Root(), "j1");
  ASSERT_TRUE(d.ok());
  const std::string html = RenderReportHtml(*d, "2026-12-06T00:00:00Z");
  EXPECT_EQ(html.find("{{PG_REPORT_DATA}}"), std::string::npos);
  EXPECT_EQ(html.find("one</script>"), std::string::npos);
  EXPECT_EQ(html.find("<!--b"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);  // self-contained
  const std::string open = "<script id=\"pg-data\" type=\"application/json\">";
  size_t a = html.find(open);
  ASSERT_NE(a, std::string::npos);
  a += open.size();
  size_t b = html.find("</script>", a);
  ASSERT_NE(b, std::string::npos);
  json j = json::parse(html.substr(a, b - a));
  EXPECT_EQ(j["job"], "j1");
  EXPECT_EQ(j["a"]["seq"].size(), 6u);
  EXPECT_EQ(j["t"]["seq"].size(), 3u);
  EXPECT_EQ(j["envs"].size(), 4u);  // e1..e4; the throttle has none
  EXPECT_EQ(j["a"]["e"][1], -1);
  EXPECT_EQ(j["a"]["s"][0], 0);  // relative to the first start
  EXPECT_EQ(j["a"]["d"][5], 1400);
  EXPECT_EQ(j["a"]["c"][0], 1000000);  // nano-USD
  EXPECT_EQ(j["err"]["1"], "one</script><!--b");
  EXPECT_EQ(j["summary"]["peak_concurrency"], 3);
  EXPECT_EQ(j["t"]["cp"], json({0, 2, 2}));  // "x 1", "x 2", "x 3": front-coded
  EXPECT_EQ(j["t"]["cmd"], json({"x 1", "2", "3"}));
  EXPECT_EQ(j["notes"].size(), 2u);
}

TEST_F(ReportDataTest, CommandsAreFrontCodedInUtf16UnitsAndMadeValidText) {
  ReportData d;
  for (const char* c : {"é😀ab", "é😀ac", "é😀", "\xff\xfez", "\xff\xfey"}) {
    TaskRow t;
    t.seq = static_cast<int64_t>(d.tasks.size()) + 1;
    t.command = c;
    d.tasks.push_back(t);
  }
  std::string text = ReportDataJson(d, "now");
  json j = json::parse(text);
  // é is 1 unit, 😀 2: "é😀a" is 4 units; the invalid bytes are U+FFFD each (1 unit).
  EXPECT_EQ(j["t"]["cp"], json({0, 4, 3, 0, 2}));
  EXPECT_EQ(j["t"]["cmd"], json({"é😀ab", "c", "", "\xEF\xBF\xBD\xEF\xBF\xBDz", "y"}));
}

TEST_F(ReportDataTest, WriteReportWritesTheFileOrSaysWhyNot) {
  FinishedJob();
  const std::string out = (dir_ / "r.html").string();
  ASSERT_TRUE(WriteReport(Root(), "j1", out).ok());
  std::string html = driver::testing::Slurp(out);
  EXPECT_NE(html.find("<canvas id=\"timeline\">"), std::string::npos);
  EXPECT_FALSE(fs::exists(out + ".tmp"));
  Status bad = WriteReport(Root(), "j1", (dir_ / "no" / "such" / "r.html").string());
  EXPECT_EQ(bad.code(), StatusCode::kIoError);
  EXPECT_NE(bad.message().find("no/such/r.html"), std::string::npos);
}

// A real job (RunJob on the fake backend): one "a" line per invocation, retries included.
class ReportRunJobTest : public driver::testing::RunJobFixture {
 protected:
  ReportRunJobTest() : RunJobFixture("reportrun") {}
};

TEST_F(ReportRunJobTest, EveryInvocationOfARealJobIsABar) {
  EXPECT_EQ(
      Run({"--job-id", "rj", "--retries", "3", "--", "echo", "exit", "{}", ":::", "0", "3", "0"}),
      1);
  auto d = LoadReportData(state_, "rj");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->notes.empty()) << d->notes[0];
  ASSERT_EQ(d->bars.size(), 5u);  // 1 + 3 + 1
  int failed = 0;
  for (const AttemptBar& b : d->bars) {
    EXPECT_GE(b.end_ms, b.start_ms);
    if (b.seq == 2) {
      EXPECT_EQ(b.outcome, "failed");
      EXPECT_EQ(b.exit_code, 3);
      ++failed;
    }
  }
  EXPECT_EQ(failed, 3);
  EXPECT_EQ(d->summary.by_outcome.at("succeeded"), 2);
  EXPECT_EQ(d->summary.by_outcome.at("failed"), 1);
  EXPECT_EQ(d->tasks[1].attempts, 3);
}

}  // namespace
}  // namespace parallelagram::report
