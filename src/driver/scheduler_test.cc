#include "driver/scheduler.h"

#include <gtest/gtest.h>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

using testing::Exited;
using testing::FakeInvoker;
using testing::FakeLoop;
using testing::WithOutcome;

struct Recorder : Scheduler::Listener {
  explicit Recorder(Loop& l) : loop(l) {}
  void OnStart(int64_t seq, int attempt, int slot) override {
    starts.push_back({seq, attempt, slot});
  }
  void OnRetry(const TaskRecord& a) override { retries.push_back(a); }
  void OnFinish(const TaskRecord& rec) override { finished.push_back(rec); }
  void OnHalt(const std::string&) override { ++halts; }
  void OnDone() override {
    ++done;
    loop.Stop();
  }
  struct Start { int64_t seq; int attempt; int slot; };
  Loop& loop;
  std::vector<Start> starts;
  std::vector<TaskRecord> retries, finished;
  int halts = 0, done = 0;
};

int64_t SeqOf(const TaskEvent& e) { return std::stoll(e.task_id); }

struct Fixture {
  FakeClock clock;
  FakeLoop loop{clock};
  Recorder rec{loop};
  std::unique_ptr<FakeInvoker> inv;
  std::unique_ptr<Scheduler> sched;
  void Run(Scheduler::Options o, int64_t total, FakeInvoker::Script script) {
    inv = std::make_unique<FakeInvoker>(loop, std::move(script));
    sched = std::make_unique<Scheduler>(
        o, total,
        [](int64_t seq, int slot) -> Result<TaskEvent> {
          TaskEvent e;
          e.task_id = std::to_string(seq);
          e.argv = {"t", std::to_string(slot)};
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
  f.Run(o, 1, [](const TaskEvent&, int attempt) {
    return std::make_pair(int64_t{1}, attempt <= 3 ? WithOutcome(Outcome::kThrottled) : Exited(0));
  });
  EXPECT_EQ(f.sched->succeeded(), 1);
  EXPECT_EQ(f.inv->calls, 4);
  EXPECT_EQ(f.rec.finished[0].attempt, 1);
  EXPECT_GE(f.loop.now_ms(), 50 + 100 + 200);  // exponential back-off
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
  FakeInvoker inv(loop, [](const TaskEvent&, int) { return std::make_pair(int64_t{1}, Exited(0)); });
  Scheduler s({}, 2,
              [](int64_t seq, int) -> Result<TaskEvent> {
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

TEST(SchedulerTest, NoTasksIsDoneAtOnce) {
  Fixture f;
  f.Run({}, 0, [](const TaskEvent&, int) { return std::make_pair(int64_t{1}, Exited(0)); });
  EXPECT_EQ(f.rec.done, 1);
}

}  // namespace
}  // namespace parallelagram::driver
