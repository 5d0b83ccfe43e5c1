#include "driver/task_plan.h"

#include <filesystem>

#include "driver/input_feed.h"
#include "driver/staging.h"

namespace parallelagram::driver {

namespace fs = std::filesystem;

Result<PlannedTask> PlanTaskFiles(const FileTemplates& tm, const TaskInputs& in) {
  PlannedTask t;
  for (const auto& tf : tm.transfer) {
    auto p = ExpandPath(tf, in, tm.num_sources);
    if (!p.ok()) return p.status().WithContext("--transferfile");
    if (IsS3Uri(*p)) {  // already in S3: used in place (staging.h)
      if (auto sp = S3InputPath(*p); !sp.ok()) return sp.status();
      t.transfer.push_back(*p);
      continue;
    }
    auto rel = NormaliseRelative(*p, "--transferfile");
    if (!rel.ok()) return rel.status();
    std::error_code ec;
    if (!fs::is_regular_file(*rel, ec)) {
      return Status::NotFound("input file '" + *p + "' (--transferfile " + tf + ", task " +
                              std::to_string(in.seq) + ") does not exist; nothing was started");
    }
    t.transfer.push_back(*rel);
  }
  for (const auto& rf : tm.returns) {
    auto p = ExpandPath(rf, in, tm.num_sources);
    if (!p.ok()) return p.status().WithContext("--return");
    auto rel = NormaliseRelative(*p, "--return");
    if (!rel.ok()) return rel.status();
    t.returns.push_back(*rel);
  }
  return t;
}

Result<std::vector<std::vector<std::string>>> AllTaskValues(const std::vector<InputSource>& sources,
                                                            bool link, const ArgShaping& shaping) {
  PG_ASSIGN_OR_RETURN(std::unique_ptr<InputFeed> feed, InputFeed::Open(sources, link, shaping));
  std::vector<std::vector<std::string>> all;
  std::vector<std::string> values;
  while (feed->Pull(&values, true) == InputFeed::Next::kTask) all.push_back(std::move(values));
  return all;
}

Result<std::vector<PlannedTask>> PlanAllTasks(const FileTemplates& t,
                                              const std::vector<InputSource>& sources, bool link,
                                              const ArgShaping& shaping) {
  std::vector<PlannedTask> all;
  if (t.empty()) return all;
  if (shaping.active) {
    PG_ASSIGN_OR_RETURN(auto tasks, AllTaskValues(sources, link, shaping));
    for (size_t i = 0; i < tasks.size(); ++i) {
      PG_ASSIGN_OR_RETURN(PlannedTask p, PlanTaskFiles(t, TaskInputs{static_cast<int64_t>(i) + 1, 1,
                                                                     std::move(tasks[i])}));
      all.push_back(std::move(p));
    }
    return all;
  }
  const int64_t total = CountTasks(sources, link);
  all.reserve(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    PG_ASSIGN_OR_RETURN(PlannedTask p,
                        PlanTaskFiles(t, TaskInputs{i + 1, 1, TaskValues(sources, link, i)}));
    all.push_back(std::move(p));
  }
  return all;
}

Status CheckBasefiles(const std::vector<std::string>& basefiles) {
  for (const auto& b : basefiles) {
    auto rel = NormaliseRelative(b, "--basefile");
    if (!rel.ok()) return rel.status();
    std::error_code ec;
    if (!fs::exists(*rel, ec)) {
      return Status::NotFound("--basefile '" + b + "' does not exist; nothing was started");
    }
  }
  return Status::Ok();
}

}  // namespace parallelagram::driver
