#include "driver/task_plan.h"

#include <filesystem>

#include "driver/command_template.h"
#include "driver/staging.h"

namespace parallelagram::driver {

namespace fs = std::filesystem;

Status PlanTaskFiles(const RunOptions& o, TaskPlan& plan) {
  const int num_sources = static_cast<int>(o.sources.size());
  for (int64_t i = 0; i < plan.with_files(); ++i) {
    PlannedTask& t = plan.mutable_files(i + 1);
    TaskInputs in{i + 1, 1, plan.Values(i + 1)};
    for (const auto& tf : o.transferfiles) {
      auto p = ExpandPath(tf, in, num_sources);
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
                                std::to_string(i + 1) + ") does not exist; nothing was started");
      }
      t.transfer.push_back(*rel);
    }
    for (const auto& rf : o.returns) {
      auto p = ExpandPath(rf, in, num_sources);
      if (!p.ok()) return p.status().WithContext("--return");
      auto rel = NormaliseRelative(*p, "--return");
      if (!rel.ok()) return rel.status();
      t.returns.push_back(*rel);
    }
  }
  return Status::Ok();
}

Status CheckBasefiles(const RunOptions& o) {
  for (const auto& b : o.basefiles) {
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
