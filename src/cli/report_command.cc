// parallelagram report JOB [-o FILE.html]: a job's timeline, concurrency, cost and summary as
// one self-contained HTML page (src/report/, docs/report.md).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "driver/state_dir.h"
#include "report/report_html.h"

namespace parallelagram::cli {
namespace {

constexpr const char* kReportHelp =
    R"(usage: parallelagram report JOB [-o FILE.html] [--state-dir DIR]

Writes one self-contained HTML page about a job (no network needed to open it): a timeline
with one row per execution environment and one bar per invocation (coloured by outcome; cold
starts, retries, throttles and speculative duplicates marked; hover or click a bar for its
task's command, timings, exit status and stderr tail), concurrency and cost over time, a
histogram of task durations, the slowest tasks, and the job's summary. A job still running
gets a report of what happened so far.
  -o FILE.html   where to write it (default: JOB.html in the current directory)
  JOB may be 'last' for the most recent job.
)";

int Usage(const std::string& msg) {
  std::fprintf(stderr, "parallelagram report: %s; see 'parallelagram report --help'\n",
               msg.c_str());
  return kExitUsage;
}

}  // namespace

int ReportMain(int argc, char** argv) {
  std::string state_dir, out, job;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      std::fputs(kReportHelp, stdout);
      return 0;
    }
    if (s == "-o" || s == "--output" || s == "--state-dir") {
      if (i + 1 >= argc) return Usage("option " + s + " needs a value");
      (s == "--state-dir" ? state_dir : out) = argv[++i];
    } else if (s.rfind("--state-dir=", 0) == 0) {
      state_dir = s.substr(12);
    } else if (s.rfind("--output=", 0) == 0) {
      out = s.substr(9);
    } else if (!s.empty() && s[0] == '-') {
      return Usage("unknown option '" + s + "'");
    } else if (job.empty()) {
      job = s;
    } else {
      return Usage("unexpected argument '" + s + "' (one job at a time)");
    }
  }
  if (job.empty())
    return Usage("which job? give its id ('parallelagram jobs' lists them) or 'last'");
  auto root = driver::ResolveStateRoot(state_dir);
  if (!root.ok()) return Usage(root.status().message());
  if (Status s = driver::CheckJobId(job); !s.ok() && job != "last") return Usage(s.message());
  auto resolved = driver::ResolveLastJob(*root, job);
  if (!resolved.ok()) return Usage(resolved.status().message());
  job = *resolved;
  if (out.empty()) out = job + ".html";
  report::ReportData d;
  Status st = report::WriteReport(*root, job, out, &d);
  if (!st.ok()) {
    std::fprintf(stderr, "parallelagram report: %s\n", st.message().c_str());
    return kExitUsage;
  }
  for (const std::string& n : d.notes)
    std::fprintf(stderr, "parallelagram report: note: %s\n", n.c_str());
  if (d.running) {
    std::fprintf(stderr,
                 "parallelagram report: job %s is still running: the report shows what happened "
                 "so far (%lld of %lld tasks finished)\n",
                 job.c_str(), static_cast<long long>(d.summary.finished),
                 static_cast<long long>(d.summary.total));
  } else if (d.driver_gone) {
    std::fprintf(stderr,
                 "parallelagram report: job %s says running but its driver is gone: the report "
                 "shows what happened until then; finish it with 'parallelagram run --resume "
                 "%s'\n",
                 job.c_str(), job.c_str());
  }
  Say("wrote " + out + " (" + std::to_string(d.summary.attempts) + " invocations of " +
      std::to_string(d.tasks.size()) + " tasks)");
  return 0;
}

}  // namespace parallelagram::cli
