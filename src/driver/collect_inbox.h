// CollectInbox: the first step of resuming an async job, before anything is dispatched.
//
// Resume in async mode: before anything is dispatched, lists the inbox (once) and records the
// results workers wrote meanwhile. Every object "S.N.json" of an unfinished task S is a
// result of S: a success finishes it; a failure does when it is the answer of the latest
// attempt the journal recorded and that attempt was the last one --retries allows (with
// attempts left, the next one runs); other failures are dropped (the task runs again).
// Objects of tasks finished earlier are stale and deleted. Objects are deleted only after
// the manifest lines made from them are durable. Returns the number of tasks finished here.
// A listing error is reported and collects nothing (the tasks then run again).
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

// `finished_before`: per task (seq-1), non-zero when it finished in an earlier run (its
// manifest line is durable). A task finished here is restored in `sched` and reported to
// `listener` (OnFinish: recorded and printed like any other).
int64_t CollectInbox(ResultInbox& inbox, Loop& loop, const std::string& job_id,
                     const std::vector<uint8_t>& finished_before, const JournalReplay& replay,
                     int max_attempts, Scheduler& sched, Scheduler::Listener& listener,
                     JobState& state, Journal& journal, std::FILE* err, bool quiet);

}  // namespace parallelagram::driver
