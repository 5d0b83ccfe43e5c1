#include "driver/task_events.h"

#include <filesystem>

#include "driver/job_record.h"

namespace parallelagram::driver {

namespace fs = std::filesystem;

TaskEventBuilder::TaskEventBuilder(Settings settings, const CommandTemplate* tmpl,
                                   const Staging& staging, ObjectStore& store,
                                   const ResultRetrieval& retrieval)
    : s_(std::move(settings)),
      tmpl_(tmpl),
      staging_(staging),
      store_(store),
      retrieval_(retrieval) {
  if (s_.max_output <= 0) s_.max_output = int64_t{1} << 30;
}

Result<TaskEvent> TaskEventBuilder::Build(const TaskInputs& in, const PlannedTask& t,
                                          int64_t invocation, const TaskSpec* spec) {
  const int64_t seq = in.seq;
  TaskEvent e;
  e.task_id = s_.job_id + "/" + std::to_string(seq);
  e.timeout_ms = s_.timeout_ms;
  if (spec) {
    e.kind = spec->kind;
    e.function = spec->function;
    e.argv = spec->argv;
    e.stdin_data = spec->stdin_data;
    e.env = spec->env;
    if (spec->timeout_ms > 0) e.timeout_ms = spec->timeout_ms;
  } else if (tmpl_) {
    e.argv = tmpl_->Expand(in);
    e.shell = s_.shell;
    e.env = s_.env;
  } else {
    return Status::Internal("task " + std::to_string(seq) + " has no command");
  }
  e.max_output_bytes = s_.max_output;
  e.files = staging_.FilesFor(t.transfer);
  for (const StagedFile& part : t.stdin_parts) {  // a --pipe block (and its header)
    e.files.push_back(part);
    e.stdin_files.push_back(part.path);
  }
  e.returns = t.returns;
  e.output_uri = retrieval_.OutputUri(seq, invocation);
  e.result_uri = retrieval_.ResultUri(seq, invocation);
  e.result_spill_only = true;  // sync mode; the async invoker names its own result objects
  // Lambda's payload limits (6 MB sync, 1 MB Event): a bigger event (huge arguments or
  // file lists) is stored and fetched by the worker.
  // The bound spares the usual small event a serialisation here: the invoker serialises it
  // once, when it sends it.
  const size_t limit = s_.async ? kEventPayloadLimit : kSyncPayloadLimit;
  if (TaskEventJsonBound(e) + 4096 <= limit) return e;  // headroom for the invoker's fields
  std::string body = JsonLine(TaskEventToJson(e));
  if (body.size() + 4096 <= limit) return e;  // headroom for the invoker's own fields
  std::string tmp = s_.scratch_dir + "/.event" + std::to_string(seq);
  PG_RETURN_IF_ERROR(WriteFileAll(tmp, body));
  auto uri = store_.PutFile(
      "jobs/" + s_.job_id + "/events/" + retrieval_.InvocationName(seq, invocation) + ".json", tmp);
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
  small.live_output = e.live_output;
  return small;
}

}  // namespace parallelagram::driver
