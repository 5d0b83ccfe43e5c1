#include "driver/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

using testing::Exited;
using testing::FakeInvoker;
using testing::FakeLoop;
using testing::WithOutcome;

struct Recorder : Scheduler::Listener {
  explicit Recorder(Loop& l) : loop(l) {}
  // Tasks 1..total, then the end of the input (or kWait while `hold` says so).
  Pull PullTask(int64_t* seq) override {
    if (next > total) return Pull::kEnd;
    if (hold && hold(next)) return Pull::kWait;
    *seq = next++;
    return Pull::kTask;
  }
  void OnStart(int64_t seq, int attempt, int slot) override {
    starts.push_back({seq, attempt, slot});
  }
  void OnRetry(const TaskRecord& a) override { retries.push_back(a); }
  void OnDropped(const TaskRecord& a) override { dropped.push_back(a); }
  void OnFinish(const TaskRecord& rec) override { finished.push_back(rec); }
  void OnHalt(const std::string&) override { ++halts; }
  void OnDone() override {
    ++done;
    loop.Stop();
  }
  struct Start { int64_t seq; int attempt; int slot; };
  Loop& loop;
  int64_t total = 0;
  int64_t next = 1;
  std::function<bool(int64_t seq)> hold;  // true: task seq is not ready yet
  std::vector<Start> starts;
  std::vector<TaskRecord> retries, finished, dropped;
  int halts = 0, done = 0;
};

int64_t SeqOf(const TaskEvent& e) { return std::stoll(e.task_id); }

// The event of task `seq`: command "t", named by its seq.
Result<TaskEvent> PlainEvent(int64_t seq, int /*slot*/, int64_t /*invocation*/) {
  TaskEvent e;
  e.task_id = std::to_string(seq);
  e.argv = {"t"};
  return e;
}

struct Fixture {
  FakeClock clock;
  FakeLoop loop{clock};
  Recorder rec{loop};
  std::unique_ptr<FakeInvoker> inv;
  std::unique_ptr<Scheduler> sched;
  void Run(Scheduler::Options o, int64_t total, FakeInvoker::Script script) {
    inv = std::make_unique<FakeInvoker>(loop, std::move(script));
    rec.total = total;
    sched = std::make_unique<Scheduler>(
        o,
        [](int64_t seq, int slot, int64_t invocation) -> Result<TaskEvent> {
          TaskEvent e;
          e.task_id = std::to_string(seq);
          e.argv = {"t", std::to_string(slot)};
          e.env["INVOCATION"] = std::to_string(invocation);
          return e;
        },
        *inv, loop, clock, rec);
    sched->Start();
    loop.Run();
  }
};

TEST(SchedulerTest, KeepsJobsInFlightAndFinishesAll) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 3;
  f.Run(o, 10, [](const TaskEvent& e, int) { return std::make_pair(10 * SeqOf(e), Exited(0)); });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.rec.finished.size(), 10u);
  EXPECT_EQ(f.inv->max_in_flight, 3);
  EXPECT_EQ(f.sched->succeeded(), 10);
  // Slots ({%}) are 1..jobs and never shared by two running tasks.
  for (const auto& s : f.rec.starts) {
    EXPECT_GE(s.slot, 1);
    EXPECT_LE(s.slot, 3);
  }
}

TEST(SchedulerTest, TasksArrivingWhileRunningStartWhenWoken) {
  // Tasks 4.. are not ready until t = 100 ms (an input still being read): the first three run
  // at once, the Scheduler waits without ending, and Wake() starts the rest.
  Fixture f;
  f.rec.total = 6;
  bool ready = false;
  f.rec.hold = [&](int64_t seq) { return seq >= 4 && !ready; };
  f.loop.After(100, [&] {
    ready = true;
    f.sched->Wake();
  });
  Scheduler::Options o;
  o.jobs = 8;
  f.Run(o, 6, [](const TaskEvent&, int) { return std::make_pair(int64_t{10}, Exited(0)); });
  EXPECT_EQ(f.rec.done, 1);
  ASSERT_EQ(f.rec.finished.size(), 6u);
  EXPECT_EQ(f.sched->total(), 6);
  EXPECT_TRUE(f.sched->input_ended());
  // 1-3 finished at 10 ms, before the rest were even ready; 4-6 after the wake.
  for (int i = 0; i < 3; ++i) EXPECT_LE(f.rec.finished[i].seq, 3);
  for (int i = 3; i < 6; ++i) EXPECT_GE(f.rec.finished[i].seq, 4);
}

TEST(SchedulerTest, RetriesFailuresUpToMaxAttempts) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  o.max_attempts = 3;
  // Task 1 fails twice then succeeds; task 2 always fails; task 3 times out once.
  f.Run(o, 3, [](const TaskEvent& e, int attempt) {
    int64_t seq = SeqOf(e);
    if (seq == 1) return std::make_pair(int64_t{5}, Exited(attempt < 3 ? 1 : 0));
    if (seq == 2) return std::make_pair(int64_t{5}, Exited(7));
    return std::make_pair(int64_t{5}, attempt == 1 ? WithOutcome(Outcome::kTimedOut) : Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 2);
  EXPECT_EQ(f.sched->failed(), 1);
  EXPECT_EQ(f.inv->calls, 3 + 3 + 2);
  EXPECT_EQ(f.sched->retried(), 2 + 2 + 1);
  for (const auto& r : f.rec.finished) {
    if (r.seq == 2) {
      EXPECT_EQ(r.attempt, 3);
    }
  }
}

TEST(SchedulerTest, ThrottleIsRetriedWithoutCountingAnAttempt) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 1;
  o.max_attempts = 1;
  o.seed = 7;
  f.Run(o, 1, [](const TaskEvent&, int attempt) {
    return std::make_pair(int64_t{1}, attempt <= 3 ? WithOutcome(Outcome::kThrottled) : Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 1);
  EXPECT_EQ(f.inv->calls, 4);
  EXPECT_EQ(f.rec.finished[0].attempt, 1);
  EXPECT_EQ(f.rec.finished[0].invocations, 4);
  EXPECT_EQ(f.sched->throttled(), 3);
  // Full jitter: each wait is uniform in [0, 100 * 2^(n-1)] ms.
  EXPECT_LE(f.loop.now_ms(), 4 + 100 + 200 + 400);
}

TEST(SchedulerTest, ThrottleHonoursRetryAfter) {
  Fixture f;
  Scheduler::Options o;
  o.seed = 7;
  f.Run(o, 1, [](const TaskEvent&, int attempt) {
    TaskResult r = WithOutcome(Outcome::kThrottled, "Rate Exceeded.");
    r.retry_after_ms = 2000;
    return std::make_pair(int64_t{1}, attempt == 1 ? r : Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 1);
  EXPECT_GE(f.loop.now_ms(), 2000 + 2);
  EXPECT_LE(f.loop.now_ms(), 2000 + 100 + 2);
}

TEST(SchedulerTest, ThrottlesAreBoundedPerTask) {
  Fixture f;
  Scheduler::Options o;
  o.max_throttle_retries = 5;
  o.seed = 7;
  f.Run(o, 1, [](const TaskEvent&, int) {
    return std::make_pair(int64_t{1}, WithOutcome(Outcome::kThrottled, "Rate Exceeded."));
  });
  EXPECT_EQ(f.inv->calls, 6);
  EXPECT_EQ(f.sched->failed(), 1);
  EXPECT_EQ(f.rec.finished[0].result.outcome, Outcome::kThrottled);
}

TEST(SchedulerTest, TransportErrorsAreRetriedABoundedNumberOfTimes) {
  Fixture f;
  Scheduler::Options o;
  o.max_transport_retries = 2;
  f.Run(o, 1, [](const TaskEvent&, int) {
    return std::make_pair(int64_t{1}, WithOutcome(Outcome::kTransport, "connection refused"));
  });
  EXPECT_EQ(f.inv->calls, 3);
  EXPECT_EQ(f.sched->failed(), 1);
  EXPECT_EQ(f.rec.finished[0].result.outcome, Outcome::kTransport);
  EXPECT_EQ(f.rec.finished[0].attempt, 1);
}

TEST(SchedulerTest, TransportErrorsDoNotCountAgainstRetries) {
  Fixture f;
  Scheduler::Options o;
  o.max_attempts = 2;
  // Two transport errors, one crash, then success: the crash is the one counted attempt.
  f.Run(o, 1, [](const TaskEvent&, int n) {
    if (n <= 2) return std::make_pair(int64_t{1}, WithOutcome(Outcome::kTransport, "reset"));
    if (n == 3) return std::make_pair(int64_t{1}, WithOutcome(Outcome::kCrashed, "died"));
    return std::make_pair(int64_t{1}, Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 1);
  EXPECT_EQ(f.rec.finished[0].attempt, 2);
  EXPECT_EQ(f.rec.finished[0].invocations, 4);
  EXPECT_EQ(f.rec.retries.size(), 3u);
}

TEST(SchedulerTest, FailureClassesAreRetriedAndTheLastClassIsReported) {
  Fixture f;
  Scheduler::Options o;
  o.max_attempts = 3;
  f.Run(o, 1, [](const TaskEvent&, int n) {
    Outcome seq[] = {Outcome::kOutOfMemory, Outcome::kStagingError, Outcome::kCrashed};
    TaskResult r = WithOutcome(seq[n - 1], "attempt " + std::to_string(n));
    r.stderr_data = "boom";
    r.log_tail = "START\nRuntime.ExitError\n";
    return std::make_pair(int64_t{1}, r);
  });
  ASSERT_EQ(f.rec.finished.size(), 1u);
  EXPECT_EQ(f.rec.finished[0].result.outcome, Outcome::kCrashed);
  EXPECT_EQ(f.rec.finished[0].result.error, "attempt 3");
  EXPECT_EQ(f.rec.finished[0].result.log_tail, "START\nRuntime.ExitError\n");
  EXPECT_EQ(f.rec.finished[0].attempt, 3);
}

TEST(SchedulerTest, AimdHalvesOncePerRoundTripAndGrowsBack) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 8;
  o.seed = 3;
  std::vector<int> in_flight_at_call;
  Fixture* fp = &f;
  // The first 8 invokes (one round trip) are all throttled; everything after succeeds.
  f.Run(o, 100, [&, fp](const TaskEvent&, int) {
    in_flight_at_call.push_back(fp->inv->in_flight);
    if (in_flight_at_call.size() <= 8) {
      return std::make_pair(int64_t{10}, WithOutcome(Outcome::kThrottled, "Rate Exceeded."));
    }
    return std::make_pair(int64_t{100}, Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 100);
  EXPECT_EQ(f.sched->throttled(), 8);
  EXPECT_EQ(f.sched->min_window(), 4);  // halved once, not 8 times
  // Right after the cut, at most 4 run at once.
  for (size_t i = 8; i < 12; ++i) EXPECT_LE(in_flight_at_call[i], 4) << i;
  // 4 -> 8 takes 4 + 5 + 6 + 7 answers; 100 are plenty.
  EXPECT_EQ(f.sched->window(), 8);
  EXPECT_EQ(f.inv->max_in_flight, 8);
}

TEST(SchedulerTest, AimdSettlesNearTheCapacityOfAThrottlingService) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 64;
  o.seed = 5;
  Fixture* fp = &f;
  // A service that admits 6 concurrent invocations and throttles the rest at once.
  f.Run(o, 2000, [fp](const TaskEvent&, int) {
    if (fp->inv->in_flight > 6) {
      return std::make_pair(int64_t{1}, WithOutcome(Outcome::kThrottled, "Rate Exceeded."));
    }
    return std::make_pair(int64_t{100}, Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 2000);
  EXPECT_EQ(f.rec.finished.size(), 2000u);
  // Without adaptation every answer frees a slot that is refilled and throttled: thousands
  // of 429s. With AIMD only the probes above capacity are.
  EXPECT_LT(f.sched->throttled(), 600);
  EXPECT_LE(f.sched->min_window(), 6);
  // Close to the ideal 2000 / 6 * 100 ms.
  EXPECT_LT(f.loop.now_ms(), 2000 / 6 * 100 * 3 / 2);
}

TEST(SchedulerTest, SpeculateAutoDuplicatesAStragglerAndTheFirstFinisherWins) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 4;
  o.max_attempts = 1;
  o.speculate.mode = SpeculateOptions::Mode::kAuto;
  o.speculate.floor_ms = 200;
  // Task 5's first invocation hangs for 5 s and then times out; every other takes 100 ms.
  f.Run(o, 300, [](const TaskEvent& e, int n) {
    if (SeqOf(e) == 5 && n == 1) {
      return std::make_pair(int64_t{5000}, WithOutcome(Outcome::kTimedOut, "Task timed out"));
    }
    return std::make_pair(int64_t{100}, Exited(0, "out" + e.task_id + "\n"));
  });
  EXPECT_EQ(f.sched->succeeded(), 300);
  EXPECT_EQ(f.sched->failed(), 0);
  EXPECT_EQ(f.sched->speculated(), 1);
  EXPECT_EQ(f.inv->calls, 301);
  std::map<int64_t, int> seen;
  for (const auto& r : f.rec.finished) ++seen[r.seq];
  EXPECT_EQ(seen.size(), 300u);
  for (const auto& [seq, n] : seen) EXPECT_EQ(n, 1) << seq;
  for (const auto& r : f.rec.finished) {
    if (r.seq != 5) continue;
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.attempt, 1);  // the loser's timeout did not consume a --retries attempt
    EXPECT_EQ(r.result.stdout_data, "out5\n");
  }
  // The hung primary answered (at 5 s) while the job still ran: discarded, never reported.
  EXPECT_EQ(f.sched->discarded(), 1);
  EXPECT_TRUE(f.rec.retries.empty());
  // ... but handed to OnDropped (its stored objects are the listener's to clean), naming its
  // own invocation, which differs from the winner's.
  ASSERT_EQ(f.rec.dropped.size(), 1u);
  EXPECT_EQ(f.rec.dropped[0].seq, 5);
  EXPECT_FALSE(f.rec.dropped[0].duplicate);
  EXPECT_EQ(f.rec.dropped[0].result.outcome, Outcome::kTimedOut);
  // Every invocation got its own number, and each answer names the invocation it came from.
  std::set<std::string> numbers;
  for (const auto& e : f.inv->events) numbers.insert(e.env.at("INVOCATION"));
  EXPECT_EQ(numbers.size(), 301u);
  for (const auto& r : f.rec.finished) {
    if (r.seq != 5) continue;
    EXPECT_NE(r.invocation, f.rec.dropped[0].invocation);
    EXPECT_EQ(f.inv->events[static_cast<size_t>(r.invocation - 1)].task_id, "5");
    EXPECT_EQ(f.inv->events[static_cast<size_t>(f.rec.dropped[0].invocation - 1)].task_id, "5");
  }
}

TEST(SchedulerTest, SpeculateWaitsForEnoughCompletions) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  o.speculate.mode = SpeculateOptions::Mode::kAuto;
  o.speculate.floor_ms = 10;
  o.speculate.min_completed = 20;
  // Task 1 takes 1 s; 9 others take 100 ms: half the job (5) must finish first, then the
  // threshold is 3 x 100 ms and task 1 is duplicated.
  f.Run(o, 10, [](const TaskEvent& e, int n) {
    if (SeqOf(e) == 1 && n == 1) return std::make_pair(int64_t{1000}, Exited(0));
    return std::make_pair(int64_t{100}, Exited(0));
  });
  EXPECT_EQ(f.sched->speculated(), 1);
  EXPECT_EQ(f.sched->succeeded(), 10);
  EXPECT_EQ(f.rec.finished.size(), 10u);
}

TEST(SchedulerTest, SpeculateDeadlineAndTheLosingDuplicateIsDropped) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  o.max_attempts = 1;
  o.speculate = *SpeculateOptions::Parse("0.5");
  // Task 1: the primary succeeds at 800 ms; its duplicate (started at ~0.5 s) crashes at
  // once. The crash must neither fail the task nor count as an attempt.
  f.Run(o, 1, [](const TaskEvent&, int n) {
    if (n == 1) return std::make_pair(int64_t{800}, Exited(0, "primary"));
    return std::make_pair(int64_t{10}, WithOutcome(Outcome::kCrashed, "killed"));
  });
  EXPECT_EQ(f.sched->speculated(), 1);
  EXPECT_EQ(f.sched->succeeded(), 1);
  ASSERT_EQ(f.rec.finished.size(), 1u);
  EXPECT_EQ(f.rec.finished[0].result.stdout_data, "primary");
  EXPECT_FALSE(f.rec.finished[0].duplicate);
  EXPECT_EQ(f.rec.finished[0].attempt, 1);
}

TEST(SchedulerTest, SpeculateOffNeverDuplicates) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  f.Run(o, 30, [](const TaskEvent& e, int) {
    return std::make_pair(SeqOf(e) == 3 ? int64_t{100000} : int64_t{10}, Exited(0));
  });
  EXPECT_EQ(f.inv->calls, 30);
  EXPECT_EQ(f.sched->speculated(), 0);
}

TEST(SchedulerTest, SpeculateParse) {
  EXPECT_EQ(SpeculateOptions::Parse("off")->mode, SpeculateOptions::Mode::kOff);
  EXPECT_EQ(SpeculateOptions::Parse("auto")->mode, SpeculateOptions::Mode::kAuto);
  EXPECT_EQ(SpeculateOptions::Parse("2.5")->deadline_ms, 2500);
  for (const char* bad : {"", "0", "-1", "x", "1e9", "nan"}) {
    auto r = SpeculateOptions::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--speculate"), std::string::npos);
  }
}

// Every task ends exactly once, whatever mix of answers arrives, with speculation on.
TEST(SchedulerTest, EveryTaskEndsExactlyOnceUnderRandomFaults) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 16;
  o.max_attempts = 2;
  o.seed = 11;
  o.speculate = *SpeculateOptions::Parse("1");
  std::mt19937 rng(42);
  std::map<int64_t, int> ok_answers;
  f.Run(o, 3000, [&](const TaskEvent& e, int) {
    int p = static_cast<int>(rng() % 100);
    int64_t d = 20 + static_cast<int64_t>(rng() % 200);
    if (p < 5) return std::make_pair(int64_t{1}, WithOutcome(Outcome::kThrottled, "429"));
    if (p < 8) return std::make_pair(d, WithOutcome(Outcome::kTransport, "500"));
    if (p < 11) return std::make_pair(d, WithOutcome(Outcome::kCrashed, "crash"));
    if (p < 14) return std::make_pair(int64_t{3000}, WithOutcome(Outcome::kTimedOut, "hang"));
    ++ok_answers[SeqOf(e)];
    return std::make_pair(d, Exited(0));
  });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.sched->finished(), 3000);
  std::map<int64_t, int> seen;
  for (const auto& r : f.rec.finished) {
    ++seen[r.seq];
    EXPECT_LE(r.attempt, 2);
    if (r.result.outcome == Outcome::kSucceeded) {
      EXPECT_GE(ok_answers[r.seq], 1);
    }
  }
  EXPECT_EQ(seen.size(), 3000u);
  for (const auto& [seq, n] : seen) ASSERT_EQ(n, 1) << seq;
  EXPECT_GT(f.sched->speculated(), 0);
  EXPECT_EQ(f.sched->succeeded() + f.sched->failed(), 3000);
}

TEST(SchedulerTest, HaltNowStopsAtOnce) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  o.halt = *HaltPolicy::Parse("now,fail=1");
  f.Run(o, 10, [](const TaskEvent& e, int) {
    int64_t seq = SeqOf(e);
    return std::make_pair(seq == 2 ? int64_t{5} : int64_t{100}, Exited(seq == 2 ? 1 : 0));
  });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.rec.halts, 1);
  EXPECT_EQ(f.sched->failed(), 1);
  EXPECT_EQ(f.sched->succeeded(), 0);  // task 1 was still running: abandoned
  EXPECT_EQ(f.rec.finished.size(), 1u);
}

TEST(SchedulerTest, HaltSoonLetsRunningTasksFinish) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  o.halt = *HaltPolicy::Parse("soon,fail=1");
  f.Run(o, 10, [](const TaskEvent& e, int) {
    int64_t seq = SeqOf(e);
    return std::make_pair(seq == 2 ? int64_t{5} : int64_t{100}, Exited(seq == 2 ? 1 : 0));
  });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.sched->failed(), 1);
  EXPECT_EQ(f.sched->succeeded(), 1);  // task 1 finished; nothing new started
  EXPECT_EQ(f.inv->calls, 2);
}

TEST(SchedulerTest, BuildErrorFinishesTaskAsStagingError) {
  FakeClock clock;
  FakeLoop loop(clock);
  Recorder rec(loop);
  rec.total = 2;
  FakeInvoker inv(loop, [](const TaskEvent&, int) { return std::make_pair(int64_t{1}, Exited(0)); });
  Scheduler s({},
              [](int64_t seq, int, int64_t) -> Result<TaskEvent> {
                if (seq == 2) return Status::NotFound("gone");
                TaskEvent e;
                e.task_id = "1";
                return e;
              },
              inv, loop, clock, rec);
  s.Start();
  loop.Run();
  EXPECT_EQ(s.succeeded(), 1);
  EXPECT_EQ(s.failed(), 1);
  EXPECT_EQ(inv.calls, 1);
}

TEST(SchedulerTest, DrainLetsRunningFinishAndLeavesRetriesUnfinished) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 3;
  o.max_attempts = 3;
  f.loop.After(50, [&f] { f.sched->Drain(); });
  // Task 1 succeeds, task 2 fails (would be retried), task 3 is throttled (would be retried).
  f.Run(o, 10, [](const TaskEvent& e, int) {
    int64_t seq = SeqOf(e);
    if (seq == 2) return std::make_pair(int64_t{100}, Exited(1));
    if (seq == 3) return std::make_pair(int64_t{100}, WithOutcome(Outcome::kThrottled));
    return std::make_pair(int64_t{100}, Exited(0));
  });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.inv->calls, 3);
  ASSERT_EQ(f.rec.finished.size(), 1u);  // only task 1: 2 and 3 are left for a resume
  EXPECT_EQ(f.rec.finished[0].seq, 1);
  EXPECT_EQ(f.sched->finished(), 1);
  EXPECT_EQ(f.rec.halts, 0);
  EXPECT_EQ(f.loop.now_ms(), 100);
}

TEST(SchedulerTest, AbandonEndsAtOnceAndDropsLateAnswers) {
  Fixture f;
  Scheduler::Options o;
  o.jobs = 2;
  f.loop.After(50, [&f] { f.sched->Abandon(); });
  f.Run(o, 10, [](const TaskEvent&, int) { return std::make_pair(int64_t{100}, Exited(0)); });
  EXPECT_EQ(f.rec.done, 1);
  EXPECT_EQ(f.loop.now_ms(), 50);
  f.loop.Run();  // the abandoned attempts answer later: nothing is reported
  EXPECT_TRUE(f.rec.finished.empty());
  EXPECT_EQ(f.rec.done, 1);
}

TEST(SchedulerTest, NoTasksIsDoneAtOnce) {
  Fixture f;
  f.Run({}, 0, [](const TaskEvent&, int) { return std::make_pair(int64_t{1}, Exited(0)); });
  EXPECT_EQ(f.rec.done, 1);
}

TEST(SchedulerTest, DelaySpacesEveryDispatchAndStillRunsEveryTask) {
  FakeClock clock;
  FakeLoop loop{clock};
  struct TimedRecorder : Recorder {
    TimedRecorder(FakeLoop& l, FakeClock& c) : Recorder(l), clock(c) {}
    void OnStart(int64_t seq, int attempt, int slot) override {
      Recorder::OnStart(seq, attempt, slot);
      at_ms.push_back(clock.NowMonoUs() / 1000);
    }
    FakeClock& clock;
    std::vector<int64_t> at_ms;
  } rec{loop, clock};
  rec.total = 5;
  // Tasks take 10 ms; task 3 fails once and is retried.
  FakeInvoker inv(loop, [&](const TaskEvent& e, int attempt) {
    return std::make_pair(int64_t{10}, Exited(SeqOf(e) == 3 && attempt == 1 ? 1 : 0));
  });
  Scheduler::Options o;
  o.jobs = 4;
  o.max_attempts = 2;
  o.delay_ms = 250;
  Scheduler s(o, PlainEvent, inv, loop, clock, rec);
  s.Start();
  loop.Run();
  ASSERT_EQ(rec.starts.size(), 6u);  // 5 tasks and 3's retry
  EXPECT_EQ(s.finished(), 5);
  EXPECT_EQ(rec.done, 1);
  for (size_t i = 1; i < rec.at_ms.size(); ++i) {
    EXPECT_GE(rec.at_ms[i] - rec.at_ms[i - 1], 250) << "start " << i;
  }
  EXPECT_LT(rec.at_ms.back() - rec.at_ms.front(), 6 * 250 + 100);  // not slower than it must
}

}  // namespace
}  // namespace parallelagram::driver

namespace parallelagram::driver {
namespace {

struct BudgetRecorder : Recorder {
  using Recorder::Recorder;
  void OnBudgetStop() override { ++budget_stops; }
  int budget_stops = 0;
};

TEST(SchedulerTest, TheBudgetGatesEveryStartAndStopsTheJobWhenNothingRunsAndItStillRefuses) {
  // Each answered invocation "costs" 1 and each in flight may cost 1: a budget of 5 lets
  // exactly 5 invocations start, whatever -j is, and a retry counts like a first attempt.
  FakeClock clock;
  FakeLoop loop{clock};
  BudgetRecorder rec{loop};
  rec.total = 10;
  auto answered = [&] {
    return static_cast<int64_t>(rec.finished.size() + rec.retries.size() + rec.dropped.size());
  };
  FakeInvoker inv(loop, [&](const TaskEvent& e, int attempt) {
    // Task 2 fails its first attempt (and is retried).
    return std::make_pair(int64_t{10}, Exited(SeqOf(e) == 2 && attempt == 1 ? 1 : 0));
  });
  Scheduler::Options o;
  o.jobs = 3;
  o.max_attempts = 2;
  o.may_start = [&](int64_t in_flight) { return answered() + in_flight + 1 <= 5; };
  Scheduler s(o, PlainEvent, inv, loop, clock, rec);
  s.Start();
  loop.Run();
  EXPECT_EQ(rec.starts.size(), 5u);  // 1, 2, 3, then 2's retry and 4 as slots free
  EXPECT_EQ(answered(), 5);
  EXPECT_EQ(rec.budget_stops, 1);
  EXPECT_EQ(rec.done, 1);
  EXPECT_TRUE(s.budget_stopped());
  EXPECT_EQ(rec.finished.size(), static_cast<size_t>(s.finished()));
  EXPECT_EQ(s.finished(), 4);  // 1, 2 (on its retry), 3, 4; 5..10 never started
  for (const auto& f : rec.finished) EXPECT_LE(f.seq, 4);
}

}  // namespace
}  // namespace parallelagram::driver
