#include "driver/scheduler.h"

#include <algorithm>
#include <cmath>

namespace parallelagram::driver {

Scheduler::Scheduler(Options options, EventBuilder build, Invoker& invoker, Timers& timers,
                     const Clock& clock, Listener& listener)
    : opt_(std::move(options)),
      build_(std::move(build)),
      invoker_(invoker),
      timers_(timers),
      clock_(clock),
      listener_(listener),
      rng_(opt_.seed != 0 ? opt_.seed : std::random_device{}()) {
  opt_.jobs = std::max(1, opt_.jobs);
  opt_.max_attempts = std::max(1, opt_.max_attempts);
  window_ = opt_.initial_window > 0 ? std::min(opt_.initial_window, opt_.jobs) : opt_.jobs;
  min_window_ = static_cast<int>(window_);
  for (int s = opt_.jobs; s >= 1; --s) free_slots_.push_back(s);
}

Scheduler::~Scheduler() { *alive_ = false; }

void Scheduler::Start() {
  if (started_) return;
  started_ = true;
  Fill();
  MaybeDone();
  if (!done_ && opt_.speculate.mode != SpeculateOptions::Mode::kOff) {
    std::weak_ptr<bool> alive = alive_;
    timers_.After(opt_.speculate.check_ms, [this, alive] {
      if (!alive.expired()) CheckStragglers();
    });
  }
}

void Scheduler::Drain() {
  if (done_ || draining_) return;
  draining_ = true;
  halted_ = true;
  duplicates_.clear();
  ready_.clear();
  MaybeDone();
}

void Scheduler::Abandon() {
  if (done_) return;
  draining_ = true;
  halted_ = true;
  done_ = true;
  listener_.OnDone();
}

int64_t Scheduler::Backoff(int n, int64_t retry_after_ms) {
  int64_t cap = opt_.backoff_initial_ms;
  for (int i = 1; i < n && cap < opt_.backoff_max_ms; ++i) cap *= 2;
  cap = std::min(cap, opt_.backoff_max_ms);
  int64_t jitter = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(0, cap))(rng_);
  int64_t hint = std::clamp<int64_t>(retry_after_ms, 0, opt_.max_retry_after_ms);
  return hint + jitter;
}

void Scheduler::CountFinishedEarlier(int64_t succeeded, int64_t failed) {
  succeeded_ += succeeded;
  failed_ += failed;
  earlier_ += succeeded + failed;
}

void Scheduler::RestoreTask(int64_t seq, int attempt, int invocations) {
  if (started_ || seq < 1) return;
  TaskState st;
  st.attempt = std::clamp(attempt, 1, opt_.max_attempts);
  st.invocations = std::max(0, invocations);
  restored_[seq] = st;
}

void Scheduler::Wake() {
  if (!started_ || done_ || in_fill_) return;
  waiting_ = false;
  Fill();
  MaybeDone();
}

void Scheduler::Fill() {
  if (in_fill_) return;  // a listener callback made inside Fill cannot re-enter it
  in_fill_ = true;
  while (!halted_ && !free_slots_.empty() && running_ < static_cast<int64_t>(window_)) {
    if ((!duplicates_.empty() || !ready_.empty() || (!input_ended_ && !waiting_)) &&
        !DelayAllows()) {
      break;
    }
    if (!duplicates_.empty()) {
      if (!BudgetAllows()) break;
      int64_t seq = duplicates_.front();
      duplicates_.pop_front();
      auto it = tasks_.find(seq);
      // Only while the straggler is still the task's one running attempt.
      if (it != tasks_.end() && it->second.in_flight == 1) Dispatch(seq, true);
    } else if (!ready_.empty()) {
      if (!BudgetAllows()) break;
      int64_t seq = ready_.front();
      ready_.pop_front();
      Dispatch(seq, false);
    } else if (!input_ended_ && !waiting_) {
      int64_t seq = 0;
      Listener::Pull p = listener_.PullTask(&seq);
      if (p == Listener::Pull::kEnd) {
        input_ended_ = true;
        break;
      }
      if (p == Listener::Pull::kWait) {
        waiting_ = true;
        break;
      }
      ++pulled_;
      auto r = restored_.find(seq);
      if (r == restored_.end()) {
        tasks_.emplace(seq, TaskState{});
      } else {
        tasks_.emplace(seq, r->second);
        restored_.erase(r);
      }
      if (!BudgetAllows()) {  // pulled, not started: it waits (or stays unfinished)
        ready_.push_front(seq);
        break;
      }
      Dispatch(seq, false);
    } else {
      break;
    }
  }
  in_fill_ = false;
}

bool Scheduler::DelayAllows() {
  if (opt_.delay_ms <= 0 || last_dispatch_us_ < 0) return true;
  const int64_t wait_us = last_dispatch_us_ + opt_.delay_ms * 1000 - clock_.NowMonoUs();
  if (wait_us <= 0) return true;
  if (!delay_armed_) {
    delay_armed_ = true;
    std::weak_ptr<bool> alive = alive_;
    timers_.After((wait_us + 999) / 1000, [this, alive] {
      if (alive.expired()) return;
      delay_armed_ = false;
      Wake();
    });
  }
  return false;
}

bool Scheduler::BudgetAllows() {
  if (!opt_.may_start || opt_.may_start(running_)) return true;
  if (running_ == 0 && !budget_stopped_) {  // nothing running will lower the worst case
    budget_stopped_ = true;
    halted_ = true;
    duplicates_.clear();
    listener_.OnBudgetStop();
  }
  return false;
}

void Scheduler::Dispatch(int64_t seq, bool duplicate) {
  TaskState& st = tasks_[seq];
  int slot = free_slots_.back();
  free_slots_.pop_back();
  ++running_;
  ++st.in_flight;
  ++st.invocations;
  int64_t id = ++next_flight_;
  last_dispatch_us_ = clock_.NowMonoUs();
  flights_.emplace(id, Flight{seq, slot, st.attempt, duplicate, clock_.NowEpochMs(),
                              clock_.NowMonoUs()});
  if (duplicate) {
    ++speculated_;
    listener_.OnSpeculate(seq, st.attempt, slot);
  } else {
    listener_.OnStart(seq, st.attempt, slot);
  }
  std::weak_ptr<bool> alive = alive_;
  Result<TaskEvent> ev = build_(seq, slot, id);
  if (!ev.ok()) {
    TaskResult r;
    r.outcome = Outcome::kStagingError;
    r.error = ev.status().message();
    timers_.After(0, [this, alive, id, r = std::move(r)]() mutable {
      if (alive.expired()) return;
      OnResult(id, std::move(r));
    });
    return;
  }
  invoker_.Invoke(std::move(ev).value(), [this, alive, id](TaskResult r) {
    if (alive.expired()) return;
    OnResult(id, std::move(r));
  });
}

void Scheduler::OnThrottle(int64_t flight) {
  ++throttled_;
  if (flight <= decrease_mark_) return;  // dispatched before the last cut: already counted
  window_ = std::max(1.0, std::floor(window_ / 2));
  min_window_ = std::min(min_window_, static_cast<int>(window_));
  decrease_mark_ = next_flight_;
  increase_count_ = 0;
}

void Scheduler::OnAnswered() {
  if (window_ >= opt_.jobs) return;
  if (++increase_count_ >= static_cast<int64_t>(window_)) {
    window_ = std::min<double>(opt_.jobs, window_ + 1);
    increase_count_ = 0;
  }
}

void Scheduler::OnResult(int64_t id, TaskResult r) {
  if (done_) return;  // halted now, or every task finished: nothing is waited for
  auto fit = flights_.find(id);
  if (fit == flights_.end()) return;
  Flight fl = fit->second;
  flights_.erase(fit);
  --running_;
  free_slots_.push_back(fl.slot);
  const Outcome o = r.outcome;
  if (o == Outcome::kThrottled) {
    OnThrottle(id);
  } else if (o != Outcome::kTransport) {
    OnAnswered();
  }

  TaskRecord rec;
  rec.seq = fl.seq;
  rec.slot = fl.slot;
  rec.invocation = id;
  rec.duplicate = fl.duplicate;
  rec.start_epoch_ms = fl.start_epoch_ms;
  rec.runtime_ms = (clock_.NowMonoUs() - fl.start_us) / 1000;
  rec.result = std::move(r);
  auto tit = tasks_.find(fl.seq);
  if (tit == tasks_.end()) {  // the task already finished: a loser's answer
    --orphans_;
    ++discarded_;
    rec.attempt = fl.attempt;
    listener_.OnDropped(rec);
  } else {
    TaskState& st = tit->second;
    --st.in_flight;
    rec.attempt = st.attempt;
    rec.invocations = st.invocations;
    if (o == Outcome::kSucceeded) {
      AddDuration(rec.runtime_ms);
      Finish(rec);
    } else if (st.in_flight > 0) {
      ++discarded_;  // a sibling is still running: its answer decides
      listener_.OnDropped(rec);
    } else {
      int64_t delay = -1;
      if (halted_ && !draining_) {
      } else if (o == Outcome::kThrottled) {
        if (st.throttle_retries < opt_.max_throttle_retries) {
          delay = Backoff(++st.throttle_retries, rec.result.retry_after_ms);
        }
      } else if (o == Outcome::kTransport) {
        if (st.transport_retries < opt_.max_transport_retries) {
          delay = Backoff(++st.transport_retries, rec.result.retry_after_ms);
        }
      } else if (st.attempt < opt_.max_attempts) {
        ++st.attempt;
        delay = 0;
      }
      if (delay < 0) {
        Finish(rec);
      } else if (draining_) {
        tasks_.erase(fl.seq);  // would run again: left unfinished for a resumed job
        ++discarded_;
        listener_.OnDropped(rec);
      } else {
        st.speculated = false;
        ++retried_;
        listener_.OnRetry(rec);
        Requeue(fl.seq, delay);
      }
    }
  }
  if (!done_) {
    Fill();
    MaybeDone();
  }
}

void Scheduler::Requeue(int64_t seq, int64_t delay_ms) {
  if (delay_ms <= 0) {
    ready_.push_back(seq);
    return;
  }
  ++delayed_;
  std::weak_ptr<bool> alive = alive_;
  timers_.After(delay_ms, [this, alive, seq] {
    if (alive.expired() || done_) return;
    --delayed_;
    ready_.push_back(seq);
    Fill();
    MaybeDone();
  });
}

void Scheduler::Finish(const TaskRecord& rec) {
  auto it = tasks_.find(rec.seq);
  if (it == tasks_.end()) return;  // never twice
  orphans_ += it->second.in_flight;
  tasks_.erase(it);
  if (rec.result.outcome == Outcome::kSucceeded) {
    ++succeeded_;
  } else {
    ++failed_;
  }
  listener_.OnFinish(rec);
  if (!halted_ && opt_.halt.ShouldHalt(failed_, succeeded_, total())) {
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
  if (done_ || running_ - orphans_ > 0) return;
  bool more = !halted_ && (!input_ended_ || !ready_.empty() || delayed_ > 0);
  if (more) return;
  done_ = true;
  listener_.OnDone();
}

void Scheduler::AddDuration(int64_t ms) {
  if (lower_.empty() || ms <= lower_.top()) {
    lower_.push(ms);
  } else {
    upper_.push(ms);
  }
  if (lower_.size() > upper_.size() + 1) {
    upper_.push(lower_.top());
    lower_.pop();
  } else if (upper_.size() > lower_.size()) {
    lower_.push(upper_.top());
    upper_.pop();
  }
}

int64_t Scheduler::StragglerThresholdMs() const {
  const SpeculateOptions& s = opt_.speculate;
  if (s.mode == SpeculateOptions::Mode::kDeadline) return s.deadline_ms;
  int64_t have = static_cast<int64_t>(lower_.size() + upper_.size());
  int64_t need = std::max<int64_t>(1, std::min(s.min_completed, (total() + 1) / 2));
  if (have < need) return -1;
  auto k = static_cast<int64_t>(std::ceil(s.factor * static_cast<double>(lower_.top())));
  return std::max(s.floor_ms, k);
}

void Scheduler::CheckStragglers() {
  if (done_) return;
  if (!halted_) {
    int64_t threshold = StragglerThresholdMs();
    if (threshold >= 0) {
      int64_t now_us = clock_.NowMonoUs();
      // Flights are in dispatch order, so the oldest come first.
      for (const auto& [id, fl] : flights_) {
        if ((now_us - fl.start_us) / 1000 < threshold) break;
        if (fl.duplicate) continue;
        auto it = tasks_.find(fl.seq);
        if (it == tasks_.end() || it->second.speculated || it->second.in_flight != 1) continue;
        it->second.speculated = true;
        duplicates_.push_back(fl.seq);
      }
      Fill();
    }
  }
  std::weak_ptr<bool> alive = alive_;
  timers_.After(opt_.speculate.check_ms, [this, alive] {
    if (!alive.expired()) CheckStragglers();
  });
}

}  // namespace parallelagram::driver
