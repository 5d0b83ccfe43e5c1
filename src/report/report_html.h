// The report page: a ReportData rendered into one self-contained HTML file (inline CSS, JS
// and data; opens without network access). The page (report_template.html, embedded at build
// time) draws with canvas from compact column arrays, so 100,000 tasks stay a few MB and
// open in well under 2 s (docs/benchmarks.md). The data it embeds is described in
// docs/report.md. Thread-safety: free functions.
#pragma once

#include <string>

#include "parallelagram/status.h"
#include "report/report_data.h"

namespace parallelagram::report {

// The page for `d`; `generated_at` (UTC, ISO 8601) is shown as the report's time.
std::string RenderReportHtml(const ReportData& d, const std::string& generated_at);

// The data the page embeds, as the JSON text placed in it (every '<' escaped). Columns, one
// array per field: "a" the bars (seq, attempt n, start s relative to t0 and duration d in
// ms, outcome o and env e as indexes into "outcomes" and "envs", flags f (1 cold, 2
// duplicate), exit x, cost c in nano-USD), "t" the tasks (seq, command front-coded: cp[j] the
// UTF-16 units it shares with task j-1's, cmd[j] the rest; outcome o (-1 unfinished), exit
// x, signal sig, runtime rt ms, attempts att, invocations inv, cost c), "err" seq -> stderr
// tail, "summary", "notes".
std::string ReportDataJson(const ReportData& d, const std::string& generated_at);

// Loads job `job_id` of state root `root` and writes its page to `path` (through a temporary
// renamed into place). What LoadReportData notes is returned in `notes` (may be null).
// Errors: LoadReportData's; IoError naming `path` when it cannot be written.
Status WriteReport(const std::string& root, const std::string& job_id, const std::string& path,
                   ReportData* loaded = nullptr);

}  // namespace parallelagram::report
