#include "driver/cost_estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "common/json_text.h"
#include "driver/cost_meter.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {

CostEstimate EstimateCost(const RunOptions& o, int64_t tasks, const PriceTable& prices,
                          const std::string& root) {
  CostEstimate e;
  e.tasks = tasks;
  e.worst_ms_per_attempt = WorstInvocationMs(o.timeout_s, 900);  // Lambda's longest timeout
  FunctionPricing fp{prices, "x86_64", o.memory_mb, 512};
  e.worst_usd = static_cast<double>(tasks) * std::max(1, o.retries) *
                fp.InvocationUsd(e.worst_ms_per_attempt);
  if (root.empty()) return e;
  const nlohmann::json command = BytesArrayToJson(o.command);
  std::vector<JobSummary> jobs = ListJobs(root);
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    const nlohmann::json& info = it->info;
    if (!info.is_object() || info.value("command", nlohmann::json()) != command ||
        info.value("backend", std::string()) != o.backend) {
      continue;
    }
    auto lines = ReadResults(root, it->job_id);
    if (!lines.ok()) continue;
    std::vector<int64_t> billed;
    int64_t memory = 0;
    for (const auto& l : *lines) {
      if (l.contains("billed_ms") && l["billed_ms"].is_number_integer()) {
        billed.push_back(l["billed_ms"].get<int64_t>());
        memory = l.value("memory_mb", memory);
      }
    }
    if (billed.empty()) continue;
    std::nth_element(billed.begin(), billed.begin() + static_cast<long>(billed.size() / 2),
                     billed.end());
    e.earlier_job = it->job_id;
    e.median_billed_ms = billed[billed.size() / 2];
    e.estimate_usd = static_cast<double>(tasks) * fp.InvocationUsd(e.median_billed_ms, memory);
    break;
  }
  return e;
}

std::string DescribeEstimate(const RunOptions& o, const CostEstimate& e, const PriceTable& prices) {
  std::string s = fmt::format(
      "cost: at most {} ({} task(s){} x {} s x {} MB, x86_64, {} prices); ", FormatUsd(e.worst_usd),
      e.tasks, o.retries > 1 ? fmt::format(" x {} attempts", o.retries) : std::string(),
      e.worst_ms_per_attempt / 1000, o.memory_mb, prices.region);
  if (e.earlier_job.empty()) {
    s += "no earlier job ran this command, so there is no estimate from one";
  } else {
    s += fmt::format("about {} from job {} (median billed duration {} ms)",
                     FormatUsd(e.estimate_usd), e.earlier_job, e.median_billed_ms);
  }
  return s;
}

}  // namespace parallelagram::driver
