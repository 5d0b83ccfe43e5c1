// CollectInbox: the first step of resuming an async job, before anything is dispatched.
//
// Resume in async mode: before anything is dispatched, lists the inbox (once) and records the
// results workers wrote meanwhile (the Job records them). Every object "S.N.json" of an unfinished task S is a
// result of S: a success finishes it; a failure does when it is the answer of the latest
// attempt the journal recorded and that attempt was the last one --retries allows (with
// attempts left, the next one runs); other failures are dropped (the task runs again).
// Objects of tasks finished earlier are stale (consumed). The caller deletes the consumed
// objects only after the manifest lines made from them are durable.
// Thread-safety: call from the loop's thread, outside loop.Run(); it runs `loop` until the
// listing answers. Nothing given is owned.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "driver/backend.h"
#include "driver/journal.h"
#include "driver/result_inbox.h"
#include "driver/scheduler.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {

// What the inbox held: tasks it finishes (to be recorded like any other finished task), tasks
// that run again from a later attempt, and the objects to delete once those records are
// durable. `error`: the listing failed (nothing collected; the tasks run again).
struct InboxCollection {
  std::vector<TaskRecord> finished;
  struct Restore {
    int64_t seq;
    int attempt;
    int answered;
  };
  std::vector<Restore> restore;
  std::vector<std::string> consumed;
  std::string error;
};

// `finished_before`: per task (seq-1), non-zero when it finished in an earlier run (its
// manifest line is durable).
InboxCollection CollectInbox(ResultInbox& inbox, Loop& loop, const std::string& job_id,
                             const std::vector<uint8_t>& finished_before,
                             const JournalReplay& replay, int max_attempts);

}  // namespace parallelagram::driver
