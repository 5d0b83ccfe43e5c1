#include "driver/collect_inbox.h"

#include <algorithm>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

namespace parallelagram::driver {

InboxCollection CollectInbox(ResultInbox& inbox, Loop& loop, const std::string& job_id,
                             const std::vector<uint8_t>& finished_before,
                             const JournalReplay& replay, int max_attempts) {
  InboxCollection out;
  const auto total = static_cast<int64_t>(finished_before.size());
  auto seq_of = [&](const std::string& name) -> int64_t {
    int64_t seq = 0, n = 0;
    if (!ParseResultObjectName(name, &seq, &n) || seq < 1 || seq > total) return 0;
    return seq;
  };
  auto unfinished = [&](int64_t seq) {
    return seq > 0 && finished_before[static_cast<size_t>(seq - 1)] == 0;
  };
  bool got = false;
  Result<std::vector<ResultInbox::Item>> items = std::vector<ResultInbox::Item>{};
  inbox.Poll([&](const std::string& n) { return unfinished(seq_of(n)); },
             [&](Result<std::vector<ResultInbox::Item>> r) {
               items = std::move(r);
               got = true;
               loop.Stop();
             });
  if (!got) loop.Run();
  if (!got || !items.ok()) {
    out.error = got ? items.status().message() : "no answer";
    return out;
  }
  std::vector<std::string>& consumed = out.consumed;
  std::map<int64_t, std::vector<const ResultInbox::Item*>> by_seq;
  for (const auto& item : *items) {
    int64_t seq = seq_of(item.name);
    if (seq == 0) continue;
    if (!unfinished(seq)) {
      consumed.push_back(item.name);  // stale: the task finished before
    } else if (item.read) {
      by_seq[seq].push_back(&item);
    }
  }
  for (const auto& [seq, objs] : by_seq) {
    auto jt = replay.tasks.find(seq);
    const JournalReplay::Task none;
    const JournalReplay::Task& t = jt == replay.tasks.end() ? none : jt->second;
    const std::string latest = t.objects.empty() ? "" : t.objects.back();
    std::optional<TaskResult> chosen;
    for (const ResultInbox::Item* item : objs) {
      consumed.push_back(item->name);
      nlohmann::json j = nlohmann::json::parse(item->body, nullptr, false);
      if (j.is_discarded()) continue;
      auto r = TaskResultFromJson(j);
      if (!r.ok()) continue;
      if (r->outcome == Outcome::kSucceeded || (item->name == latest && !chosen)) {
        chosen = std::move(r).value();
      }
    }
    if (!chosen) continue;
    const int attempt = std::max(1, t.attempt);
    if (chosen->outcome != Outcome::kSucceeded && attempt < max_attempts) {
      out.restore.push_back({seq, attempt + 1, t.answered + 1});
      continue;
    }
    TaskRecord rec;
    rec.seq = seq;
    rec.slot = 1;
    rec.attempt = attempt;
    rec.invocations = t.answered + 1;
    rec.result = std::move(*chosen);
    rec.result.task_id = job_id + "/" + std::to_string(seq);
    out.finished.push_back(std::move(rec));
  }
  return out;
}

}  // namespace parallelagram::driver
