#include "driver/job_listener.h"

#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "driver/job_record.h"

namespace parallelagram::driver {

using json = nlohmann::json;

void JobListener::OnStart(int64_t seq, int attempt, int slot) {
  if (journal_) journal_->Dispatch(seq, attempt, false);
  if (o_.json) {
    output_.Emit({{"event", "start"}, {"seq", seq}, {"attempt", attempt}, {"slot", slot}});
  }
}

void JobListener::OnSpeculate(int64_t seq, int attempt, int slot) {
  retrieval_.NoteDuplicate();  // the loser may answer after the job ended
  if (journal_) journal_->Dispatch(seq, attempt, true);
  if (o_.json) {
    output_.Emit({{"event", "speculate"}, {"seq", seq}, {"attempt", attempt}, {"slot", slot}});
  }
}

void JobListener::OnRetry(const TaskRecord& a) {
  retrieval_.DeleteObjectsOf(a);
  if (journal_) {
    const Outcome o = a.result.outcome;
    const bool counted = o != Outcome::kThrottled && o != Outcome::kTransport;
    journal_->Retry(a.seq, a.attempt + (counted ? 1 : 0));
  }
  if (o_.json) {
    output_.Emit({{"event", "retry"},
                  {"seq", a.seq},
                  {"attempt", a.attempt},
                  {"outcome", OutcomeName(a.result.outcome)},
                  {"exit_code", a.result.exit_code ? json(*a.result.exit_code) : json(nullptr)},
                  {"error", a.result.error}});
  }
}

void JobListener::OnFinish(const TaskRecord& rec_in) {
  auto rec = std::make_shared<TaskRecord>(rec_in);
  // The answering invocation's own result object: a late loser writes elsewhere.
  const std::string full_result_uri =
      retrieval_.FetchFullResult(*rec, retrieval_.ResultUri(rec->seq, rec->invocation));
  FinishedTask ft;
  ft.rec = rec.get();
  ft.args = tasks_.Values(rec->seq);
  ft.command = tmpl_.Describe(TaskInputs{rec->seq, rec->slot, ft.args});
  retrieval_.BringBack(*rec, ft);
  recorder_.Record(*rec, ft, full_result_uri);

  std::string warning = TaskWarning(*rec, ft.command);
  json event;
  if (o_.json) {
    event = ResultLine(job_id_, ft, "", "");
    event["event"] = "finish";
  }
  output_.AddTask(rec, std::move(warning), std::move(event));
  UpdateProgress();
}

void JobListener::OnHalt(const std::string& why) {
  halted_ = true;
  output_.Halting(why);
}

void JobListener::Tick() {
  if (sched_ && sched_->done()) return;
  UpdateProgress();
  int64_t every = progress_.mode() == Progress::Mode::kTty ? 100 : 1000;
  env_.loop->After(every, [this] { Tick(); });
}

void JobListener::WatchInterrupts() {
  if (!env_.interrupts || !sched_ || sched_->done()) return;
  int sigint = env_.interrupts->sigint_count();
  int sigterm = env_.interrupts->sigterm_count();
  if (sigterm > 0 || sigint >= 2) {
    interrupt_ = sigterm > 0 ? Interruption::kCancelled : Interruption::kInterrupted;
    if (sigterm > 0) {
      output_.Say(
          fmt::format("cancelled: starting no new tasks, abandoning {} running task(s); job {} "
                      "is marked cancelled (the manifest keeps the {} that finished)",
                      sched_->running(), job_id_, sched_->finished()),
          "abandon");
    } else {
      output_.Say(
          fmt::format("interrupted again: abandoning {} running task(s); the manifest keeps the "
                      "{} that finished",
                      sched_->running(), sched_->finished()),
          "abandon");
    }
    sched_->Abandon();
    return;
  }
  if (sigint == 1 && !sched_->draining()) {
    interrupt_ = Interruption::kInterrupted;
    output_.Say(fmt::format("interrupted: starting no new tasks; waiting for {} running (Ctrl-C "
                            "again to abandon them)",
                            sched_->running()),
                "drain");
    sched_->Drain();
    if (sched_->done()) return;
  }
  env_.loop->After(100, [this] { WatchInterrupts(); });
}

ProgressCounts JobListener::Counts() const {
  ProgressCounts c;
  c.total = sched_->total();
  c.running = sched_->running();
  c.succeeded = sched_->succeeded();
  c.failed = sched_->failed();
  c.retried = sched_->retried();
  return c;
}

}  // namespace parallelagram::driver
