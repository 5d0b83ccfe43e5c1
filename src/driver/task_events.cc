#include "driver/task_events.h"

#include <filesystem>

#include "driver/job_record.h"

namespace parallelagram::driver {

namespace fs = std::filesystem;

TaskEventBuilder::TaskEventBuilder(const RunOptions& o, std::string job_id,
                                   const CommandTemplate& tmpl, const TaskPlan& tasks,
                                   const Staging& staging, ObjectStore& store,
                                   const ResultRetrieval& retrieval, const JobState& state)
    : o_(o),
      job_id_(std::move(job_id)),
      tmpl_(tmpl),
      tasks_(tasks),
      staging_(staging),
      store_(store),
      retrieval_(retrieval),
      state_(state),
      timeout_ms_(static_cast<int64_t>(o.timeout_s * 1000)),
      max_output_(o.max_output_bytes > 0 ? o.max_output_bytes : int64_t{1} << 30) {}

Result<TaskEvent> TaskEventBuilder::Build(int64_t seq, int slot, int64_t invocation) {
  const PlannedTask& t = tasks_.Files(seq);
  TaskEvent e;
  e.task_id = job_id_ + "/" + std::to_string(seq);
  e.argv = tmpl_.Expand(TaskInputs{seq, slot, tasks_.Values(seq)});
  e.shell = o_.shell;
  e.timeout_ms = timeout_ms_;
  e.max_output_bytes = max_output_;
  e.files = staging_.FilesFor(t.transfer);
  e.returns = t.returns;
  e.output_uri = retrieval_.OutputUri(seq, invocation);
  e.result_uri = retrieval_.ResultUri(seq, invocation);
  e.result_spill_only = true;  // sync mode; the async invoker names its own result objects
  // Lambda's payload limits (6 MB sync, 1 MB Event): a bigger event (huge arguments or
  // file lists) is stored and fetched by the worker.
  const size_t limit = o_.mode == "async" ? kEventPayloadLimit : kSyncPayloadLimit;
  std::string body = JsonLine(TaskEventToJson(e));
  if (body.size() + 4096 <= limit) return e;  // headroom for the invoker's own fields
  std::string tmp = state_.dir() + "/output/.event" + std::to_string(seq);
  PG_RETURN_IF_ERROR(WriteFileAll(tmp, body));
  auto uri = store_.PutFile(
      "jobs/" + job_id_ + "/events/" + retrieval_.InvocationName(seq, invocation) + ".json", tmp);
  std::error_code ec;
  fs::remove(tmp, ec);
  if (!uri.ok()) {
    return uri.status().WithContext("storing task " + std::to_string(seq) + "'s oversized event");
  }
  spilled_.insert(*uri);
  TaskEvent small;
  small.task_id = e.task_id;
  small.timeout_ms = e.timeout_ms;
  small.result_uri = e.result_uri;
  small.result_spill_only = e.result_spill_only;
  small.event_uri = *uri;
  return small;
}

}  // namespace parallelagram::driver
