#include "driver/scheduler.h"

#include <algorithm>

namespace parallelagram::driver {

Scheduler::Scheduler(Options options, int64_t total, EventBuilder build, Invoker& invoker,
                     Timers& timers, const Clock& clock, Listener& listener)
    : opt_(std::move(options)),
      total_(total),
      build_(std::move(build)),
      invoker_(invoker),
      timers_(timers),
      clock_(clock),
      listener_(listener) {
  opt_.jobs = std::max(1, opt_.jobs);
  opt_.max_attempts = std::max(1, opt_.max_attempts);
  for (int s = opt_.jobs; s >= 1; --s) free_slots_.push_back(s);
}

Scheduler::~Scheduler() { *alive_ = false; }

void Scheduler::Start() {
  if (started_) return;
  started_ = true;
  Fill();
  MaybeDone();
}

int64_t Scheduler::Backoff(int n) const {
  int64_t d = opt_.backoff_initial_ms;
  for (int i = 1; i < n && d < opt_.backoff_max_ms; ++i) d *= 2;
  return std::min(d, opt_.backoff_max_ms);
}

void Scheduler::Fill() {
  while (!halted_ && !free_slots_.empty()) {
    if (!ready_.empty()) {
      Pending p = ready_.front();
      ready_.pop_front();
      Dispatch(p);
    } else if (next_seq_ <= total_) {
      Dispatch(Pending{next_seq_++, 1, 0, 0});
    } else {
      break;
    }
  }
}

void Scheduler::Dispatch(Pending p) {
  int slot = free_slots_.back();
  free_slots_.pop_back();
  ++running_;
  int64_t start_epoch = clock_.NowEpochMs();
  int64_t start_us = clock_.NowMonoUs();
  listener_.OnStart(p.seq, p.attempt, slot);
  std::weak_ptr<bool> alive = alive_;
  Result<TaskEvent> ev = build_(p.seq, slot);
  if (!ev.ok()) {
    TaskResult r;
    r.outcome = Outcome::kStagingError;
    r.error = ev.status().message();
    timers_.After(0, [this, alive, p, slot, start_epoch, start_us, r = std::move(r)]() mutable {
      if (alive.expired()) return;
      OnResult(p, slot, start_epoch, start_us, std::move(r));
    });
    return;
  }
  invoker_.Invoke(std::move(ev).value(),
                  [this, alive, p, slot, start_epoch, start_us](TaskResult r) {
                    if (alive.expired()) return;
                    OnResult(p, slot, start_epoch, start_us, std::move(r));
                  });
}

void Scheduler::OnResult(Pending p, int slot, int64_t start_epoch_ms, int64_t start_us,
                         TaskResult r) {
  if (done_) return;  // halted now: results of abandoned attempts are dropped
  --running_;
  free_slots_.push_back(slot);
  TaskRecord rec;
  rec.seq = p.seq;
  rec.slot = slot;
  rec.attempt = p.attempt;
  rec.start_epoch_ms = start_epoch_ms;
  rec.runtime_ms = (clock_.NowMonoUs() - start_us) / 1000;
  rec.result = std::move(r);

  bool final = true;
  const Outcome o = rec.result.outcome;
  if (o == Outcome::kThrottled && p.throttle_retries < opt_.max_throttle_retries && !halted_) {
    final = false;
    ++p.throttle_retries;
    listener_.OnRetry(rec);
    ++retried_;
    Requeue(p, Backoff(p.throttle_retries));
  } else if (o == Outcome::kTransport && p.transport_retries < opt_.max_transport_retries &&
             !halted_) {
    final = false;
    ++p.transport_retries;
    ++p.attempt;
    listener_.OnRetry(rec);
    ++retried_;
    Requeue(p, Backoff(p.transport_retries));
  } else if (o != Outcome::kSucceeded && o != Outcome::kThrottled && o != Outcome::kTransport &&
             p.attempt < opt_.max_attempts && !halted_) {
    final = false;
    ++p.attempt;
    listener_.OnRetry(rec);
    ++retried_;
    Requeue(p, 0);
  }
  if (final) Finish(rec);
  if (!done_) {
    Fill();
    MaybeDone();
  }
}

void Scheduler::Requeue(Pending p, int64_t delay_ms) {
  if (delay_ms <= 0) {
    ready_.push_back(p);
    return;
  }
  ++delayed_;
  std::weak_ptr<bool> alive = alive_;
  timers_.After(delay_ms, [this, alive, p] {
    if (alive.expired() || done_) return;
    --delayed_;
    ready_.push_back(p);
    Fill();
    MaybeDone();
  });
}

void Scheduler::Finish(const TaskRecord& rec) {
  if (rec.result.outcome == Outcome::kSucceeded) {
    ++succeeded_;
  } else {
    ++failed_;
  }
  listener_.OnFinish(rec);
  if (!halted_ && opt_.halt.ShouldHalt(failed_, succeeded_, total_)) {
    halted_ = true;
    halt_now_ = opt_.halt.when == HaltPolicy::When::kNow;
    std::string why = std::string(opt_.halt.on_failure ? "failed" : "succeeded") + " tasks: " +
                      std::to_string(opt_.halt.on_failure ? failed_ : succeeded_);
    listener_.OnHalt(why);
    if (halt_now_) {
      done_ = true;
      listener_.OnDone();
    }
  }
}

void Scheduler::MaybeDone() {
  if (done_ || running_ > 0) return;
  bool more = !halted_ && (next_seq_ <= total_ || !ready_.empty() || delayed_ > 0);
  if (more) return;
  done_ = true;
  listener_.OnDone();
}

}  // namespace parallelagram::driver
