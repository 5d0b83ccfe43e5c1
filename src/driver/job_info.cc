#include "driver/job_info.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "common/json_text.h"
#include "driver/run_job.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

json NewJobInfo(const RunOptions& o, const std::string& argv_line, const std::string& job_id,
                int jobs, int64_t total, int num_sources) {
  json info = {{"job_id", job_id},
               {"created_at", NowIso()},
               {"status", "starting"},
               {"pid", static_cast<int>(::getpid())},
               {"cwd", BytesToJson(fs::current_path().string())},
               {"command", BytesArrayToJson(o.command)},
               {"shell", o.shell},
               {"command_line", BytesToJson(argv_line)},
               {"backend", o.backend},
               {"jobs", jobs},
               {"total", total >= 0 ? json(total) : json(nullptr)},
               {"sources", num_sources},
               {"link", o.link},
               {"retries", o.retries},
               {"timeout_s", o.timeout_s},
               {"results_dir", BytesToJson(o.results_dir)},
               {"joblog", BytesToJson(o.joblog)}};
  info["mode"] = o.mode;
  if (!o.config.empty()) info["config"] = BytesToJson(fs::absolute(o.config).string());
  // Words that are not UTF-8 (a file name is any bytes) as {"b64":..}: lossless, for --resume.
  info["option_args"] = BytesArrayToJson(o.option_args);
  if (o.pipe_part) {  // a resume splits the same file again: where it is, and its size
    const bool s3 = o.pipe_input.rfind("s3://", 0) == 0;
    std::error_code ec;
    info["pipe_input"] =
        BytesToJson(s3 ? o.pipe_input : fs::absolute(o.pipe_input, ec).lexically_normal().string());
    if (!s3) info["pipe_input_size"] = static_cast<int64_t>(fs::file_size(o.pipe_input, ec));
  }
  if (o.max_cost_usd > 0) info["max_cost_usd"] = o.max_cost_usd;
  info["runs"] = 1;
  return info;
}

Result<json> ResumedJobInfo(const std::string& root, const std::string& job_id, const json& fresh) {
  PG_ASSIGN_OR_RETURN(JobSummary prev, ReadJob(root, job_id));
  json info = prev.info;
  info["pid"] = fresh["pid"];
  info["status"] = "starting";
  info["runs"] = info.value("runs", 1) + 1;
  info["resumed_at"] = NowIso();
  for (const char* k :
       {"finished_at", "succeeded", "failed", "not_run", "exit_status", "elapsed_s", "function"}) {
    info.erase(k);
  }
  return info;
}

int FinishJobInfo(const RunTotals& t, json& info) {
  int exit_status = static_cast<int>(std::min<int64_t>(t.failed, 101));
  info["status"] = t.halted ? "halted" : "finished";
  if (t.budget_stopped && t.interrupt == Interruption::kNone) {
    info["status"] = "budget";
    exit_status = kExitBudget;
  }
  if (t.interrupt == Interruption::kInterrupted) {
    info["status"] = "interrupted";
    exit_status = kExitInterrupted;
  } else if (t.interrupt == Interruption::kCancelled) {
    info["status"] = "cancelled";
    exit_status = kExitTerminated;
  }
  info["finished_at"] = NowIso();
  info["succeeded"] = t.succeeded;
  info["failed"] = t.failed;
  info["not_run"] = t.not_run;
  info["exit_status"] = exit_status;
  info["elapsed_s"] = static_cast<double>(t.elapsed_ms) / 1000.0;
  info["cost_usd"] = t.cost_usd;
  if (t.cost_estimate) {
    info["cost_estimate"] = true;
  } else {
    info.erase("cost_estimate");
  }
  return exit_status;
}

}  // namespace parallelagram::driver
