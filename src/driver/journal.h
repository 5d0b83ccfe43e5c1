// The job's journal: ROOT/jobs/JOB/journal.jsonl, append-only, one JSON object per line, the
// record a resume (`parallelagram run --resume JOB`) replays. Lines, in the order they happen:
//
//   {"t":"run","run":R,"pid":P,"resume":B}       a driver started on the job (R = 1, 2, ...)
//   {"t":"d","seq":S,"a":A}                     attempt A of task S was dispatched
//   {"t":"d","seq":S,"a":A,"dup":true}          ... as a speculative duplicate
//   {"t":"obj","seq":S,"name":"S.N.json"}       (async mode) that invocation's result object
//   {"t":"r","seq":S,"next":A}                  an invocation of S was answered without success
//                                               and S runs again, as attempt A
//   {"t":"a","seq":S,"a":A,"dup":B,"start_ms":T0,"end_ms":T1,"outcome":O,"env":E,"cold":C,
//    "exit":X,"billed_ms":M,"memory_mb":MB,"init_ms":I,"cost_usd":U,"est":B}
//                                               an invocation of S (attempt A; a speculative
//                                               duplicate when dup) was answered: T0/T1 epoch
//                                               ms as the driver saw it, O its outcome
//                                               (succeeded, failed, timed_out, oom, crashed,
//                                               throttled, transport, staging_error), E the
//                                               worker's env_id ("" none), X the exit code
//                                               (null: none), and what it was charged
//                                               (CostMeter's Charge; est: an estimate). For
//                                               the report (parallelagram report); a resume
//                                               does not need it and Replay ignores it
//   {"t":"end","status":"finished"}             the run ended: finished, halted or cancelled
//
// The "finished" half is the results manifest (results.jsonl, job_record.h): a task is done,
// and never runs again on resume, exactly when its complete manifest line is in results.jsonl.
// The journal holds what results.jsonl cannot: attempts in flight and, in async mode, the names
// of the result objects workers will write, so a resume can collect them before dispatching.
//
// Durable means written to the kernel (write(2) returned): it survives SIGKILL of the driver,
// not a power loss. Lines are buffered and written in batches: by Append once the last write
// is kFlushMs old, and by Flush(), which the driver also calls from a 100 ms timer, so a line
// is durable at most ~100 ms after it is appended. Sync() (fdatasync) is called once, when a
// run ends; nothing is fsynced per batch.
//
// A line cut short by a crash (the last one, without its '\n') is tolerated: Replay skips
// any line that is not a complete JSON object, and Open() cuts such a torn tail off before
// appending, so the next line starts clean.
// Errors: IoError naming the path. Thread-safety: not thread-safe (the driver's loop thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::driver {

// Cuts `path` back to just after its last '\n' when its last line is torn (has no '\n').
// A missing file is fine. Returns the number of bytes cut off.
Result<int64_t> TruncateTornTail(const std::string& path);

class Journal {
 public:
  static constexpr int64_t kFlushMs = 100;

  Journal() = default;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();  // flushes

  // Opens (creating) `path` for appending, after cutting off a torn tail.
  Status Open(const std::string& path);
  bool is_open() const { return f_ != nullptr; }

  void Run(int run, int pid, bool resume);
  void AttemptStarted(int64_t seq, int attempt, bool duplicate);
  void ResultObject(int64_t seq, const std::string& name);
  void Retry(int64_t seq, int next_attempt);
  // One "a" line: an answered invocation (see above).
  struct AttemptEnd {
    int64_t seq = 0;
    int attempt = 0;
    bool duplicate = false;
    int64_t start_ms = 0, end_ms = 0;  // epoch ms
    std::string outcome;
    std::string env;
    bool cold = false;
    std::optional<int> exit_code;
    int64_t billed_ms = 0, memory_mb = 0, init_ms = 0;
    double cost_usd = 0;
    bool estimate = false;
  };
  void AttemptEnded(const AttemptEnd& a);
  void End(const std::string& status);

  // Writes buffered lines to the kernel now.
  void Flush();
  // Flush() and fdatasync.
  void Sync();
  int64_t lines() const { return lines_; }

 private:
  void Append(const std::string& line);
  std::FILE* f_ = nullptr;
  int64_t last_flush_ms_ = 0;
  int64_t lines_ = 0;
};

// What a journal says, for the tasks a resume must still care about.
struct JournalReplay {
  struct Task {
    int attempt = 0;     // the highest attempt dispatched or due next
    int dispatches = 0;  // invocations recorded (duplicates included)
    int answered = 0;    // invocations answered without finishing the task ("r" lines)
    std::vector<std::string> objects;  // async result object names, oldest first
  };
  int runs = 0;                   // "run" lines
  std::string last_end;           // status of the last "end" line after the last "run" ("" none)
  int64_t lines = 0;              // complete lines read
  int64_t skipped = 0;            // lines that were not complete JSON (a torn tail)
  int64_t max_object_number = 0;  // the largest N of any "S.N.json" seen
  std::unordered_map<int64_t, Task> tasks;
};

// Reads the journal at `path`, keeping tasks for which `want(seq)` is true (null: all). A
// missing file is an empty replay. IoError when it exists but cannot be read.
template <typename F>
Result<JournalReplay> ReplayJournal(const std::string& path, F want);
Result<JournalReplay> ReplayJournal(const std::string& path);

// Parses "S.N.json" into (S, N); false for other names.
bool ParseResultObjectName(const std::string& name, int64_t* seq, int64_t* n);

// --- implementation detail of the template -------------------------------------------------
namespace journal_internal {
Status ReplayLines(const std::string& path, JournalReplay& out, bool (*want)(void*, int64_t),
                   void* ctx);
}

template <typename F>
Result<JournalReplay> ReplayJournal(const std::string& path, F want) {
  JournalReplay r;
  PG_RETURN_IF_ERROR(journal_internal::ReplayLines(
      path, r, [](void* c, int64_t seq) { return (*static_cast<F*>(c))(seq); }, &want));
  return r;
}

}  // namespace parallelagram::driver
