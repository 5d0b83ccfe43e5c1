// The C++ API end to end on the local backend: this test binary is its own worker
// (test_main.cc calls ServeIfWorker), as a user's program is.
#include "parallelagram/executor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "api/call_state.h"
#include "driver/testing.h"

namespace sim {

struct Params {
  int n = 0;
  double scale = 1;
  std::vector<std::string> tags;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Params, n, scale, tags)

struct Stats {
  double total = 0;
  std::string label;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Stats, total, label)

Stats Simulate(const Params& p) {
  Stats s;
  for (int i = 1; i <= p.n; ++i) s.total += i * p.scale;
  for (const auto& t : p.tags) s.label += t;
  return s;
}

}  // namespace sim

namespace {

int Square(int x) { return x * x; }
std::string Join(const std::string& a, int times, std::vector<std::string> tail) {
  std::string out;
  for (int i = 0; i < times; ++i) out += a;
  for (const auto& t : tail) out += t;
  return out;
}
std::string Reverse(std::string s) { return std::string(s.rbegin(), s.rend()); }
std::string Bytes(int64_t n) { return std::string(static_cast<size_t>(n), 'x'); }
int64_t Size(const std::string& s) { return static_cast<int64_t>(s.size()); }
int OddThrows(int x) {
  if (x % 2) throw std::out_of_range("odd input " + std::to_string(x));
  return x;
}
int Crash(int x) {
  if (x == 1) std::abort();
  return x;
}
int SleepMs(int ms) {
  std::printf("sleeping %d ms\n", ms);  // goes to the task's stderr, not its result
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
void Touch(const std::string& path) { std::ofstream(path) << "touched"; }
// Touches `mb` MB in 8 MB steps, slowly enough for local-lambda's memory watch to see it.
int64_t GrowMb(int mb) {
  std::vector<std::unique_ptr<char[]>> held;
  for (int i = 0; i < mb; i += 8) {
    held.emplace_back(new char[size_t{8} << 20]);
    std::memset(held.back().get(), 1, size_t{8} << 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return static_cast<int64_t>(held.size()) * 8;
}
int NotRegistered(int x) { return x; }

}  // namespace

PARALLELAGRAM_FUNCTION(sim::Simulate);
PARALLELAGRAM_FUNCTION(Square);
PARALLELAGRAM_FUNCTION(Join);
PARALLELAGRAM_FUNCTION(Reverse);
PARALLELAGRAM_FUNCTION(Bytes);
PARALLELAGRAM_FUNCTION(Size);
PARALLELAGRAM_FUNCTION(OddThrows);
PARALLELAGRAM_FUNCTION(Crash);
PARALLELAGRAM_FUNCTION(SleepMs);
PARALLELAGRAM_FUNCTION(Touch);
PARALLELAGRAM_FUNCTION(GrowMb);

namespace parallelagram {
namespace {

class ExecutorTest : public driver::testing::ScratchDirTest {
 protected:
  ExecutorTest() : ScratchDirTest("executor") {}
  ExecutorOptions Options(int in_flight = 2) const {
    ExecutorOptions o;
    o.max_in_flight = in_flight;
    o.state_dir = (dir_ / "state").string();
    return o;
  }
};

TEST_F(ExecutorTest, MapGivesTypedResultsInInputOrder) {
  Executor ex(Options());
  std::vector<int> xs;
  for (int i = 1; i <= 12; ++i) xs.push_back(i);
  std::vector<Future<int>> fs = ex.Map(Square, xs);
  ASSERT_EQ(fs.size(), xs.size());
  for (size_t i = 0; i < fs.size(); ++i) EXPECT_EQ(fs[i].get(), xs[i] * xs[i]);
  EXPECT_EQ(fs[0].get(), 1);  // get() again decodes again
  EXPECT_GE(fs[11].task_number(), 1);
}

TEST_F(ExecutorTest, UserTypesSeveralArgumentsAndTuples) {
  Executor ex(Options());
  Future<sim::Stats> s = ex.Call(sim::Simulate, sim::Params{4, 0.5, {"a", "b"}});
  Future<std::string> j = ex.Call(Join, "ab", 3, std::vector<std::string>{"!", "?"});
  std::vector<std::tuple<std::string, int, std::vector<std::string>>> in = {{"x", 2, {}},
                                                                            {"", 0, {"only"}}};
  auto js = ex.Map(Join, in);
  EXPECT_DOUBLE_EQ(s.get().total, 5.0);  // (1+2+3+4) * 0.5
  EXPECT_EQ(s.get().label, "ab");
  EXPECT_EQ(j.get(), "ababab!?");
  EXPECT_EQ(js[0].get(), "xx");
  EXPECT_EQ(js[1].get(), "only");
}

TEST_F(ExecutorTest, StringsTravelAsRawBytes) {
  Executor ex(Options());
  const std::string bytes("\xff\x00\xfe\n\x80 end", 9);
  EXPECT_EQ(ex.Call(Reverse, bytes).get(), std::string(bytes.rbegin(), bytes.rend()));
}

TEST_F(ExecutorTest, OversizedArgumentsAndResultsSpillThroughTheStore) {
  Executor ex(Options());
  // Over Lambda's 6 MB payload limit both ways.
  Future<std::string> big = ex.Call(Bytes, int64_t{7} << 20);
  Future<int64_t> size = ex.Call(Size, std::string(size_t{7} << 20, 'y'));
  EXPECT_EQ(big.get().size(), size_t{7} << 20);
  EXPECT_EQ(size.get(), int64_t{7} << 20);
}

TEST_F(ExecutorTest, AThrowingFunctionFailsOnlyItsCall) {
  Executor ex(Options());
  auto fs = ex.Map(OddThrows, std::vector<int>{2, 3, 4});
  EXPECT_EQ(fs[0].get(), 2);
  EXPECT_EQ(fs[2].get(), 4);
  try {
    fs[1].get();
    FAIL() << "no TaskError";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.outcome(), Outcome::kFailed);
    EXPECT_EQ(e.details().error_type, "std::out_of_range");
    EXPECT_EQ(e.details().message, "odd input 3");
    EXPECT_EQ(e.details().function, "OddThrows");
    EXPECT_TRUE(e.details().ran);
    EXPECT_NE(e.details().stderr_tail.find("odd input 3"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("std::out_of_range: odd input 3"), std::string::npos);
  }
  CallResult<int> r = fs[1].result();  // the non-throwing twin
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details().error_type, "std::out_of_range");
  EXPECT_TRUE(fs[0].result().ok());
}

TEST_F(ExecutorTest, ACrashEndsAsCrashedAndTheJobGoesOn) {
  Executor ex(Options(1));
  Future<int> crash = ex.Call(Crash, 1);
  Future<int> fine = ex.Call(Crash, 2);
  try {
    crash.get();
    FAIL() << "no TaskError";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.outcome(), Outcome::kCrashed) << e.what();
  }
  EXPECT_EQ(fine.get(), 2);
}

TEST_F(ExecutorTest, AnOutOfMemoryCallEndsAsOutOfMemoryAndTheJobGoesOn) {
  ExecutorOptions o = Options(1);
  o.memory_mb = 256;
  o.attempts = 1;
  Executor ex(o);
  Future<int64_t> hog = ex.Call(GrowMb, 4096);
  Future<int64_t> small = ex.Call(GrowMb, 16);  // after the hog, in a new environment
  auto r = hog.result();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().outcome(), Outcome::kOutOfMemory) << r.error().what();
  EXPECT_TRUE(r.error().details().ran);
  EXPECT_EQ(small.get(), 16);
}

TEST_F(ExecutorTest, ProgressLinesOnStderrOnlyWhenAsked) {
  for (bool progress : {false, true}) {
    ExecutorOptions o = Options();
    o.progress = progress;
    ::testing::internal::CaptureStderr();
    std::string id;
    {
      Executor ex(o);
      id = ex.job_id();
      for (auto& f : ex.Map(Square, std::vector<int>{1, 2, 3, 4, 5})) f.get();
    }
    const std::string err = ::testing::internal::GetCapturedStderr();
    if (!progress) {
      EXPECT_EQ(err, "");
    } else {
      // The final line counts every call.
      EXPECT_NE(err.find("parallelagram: job " + id + ": [5/5] 0 running, 5 done, 0 failed"),
                std::string::npos)
          << err;
    }
  }
}

TEST_F(ExecutorTest, PerCallTimeout) {
  Executor ex(Options());
  Future<int> slow = ex.CallWith(CallOptions{.timeout_s = 0.5}, SleepMs, 20000);
  Future<int> quick = ex.Call(SleepMs, 10);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = slow.result();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().outcome(), Outcome::kTimedOut) << r.error().what();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  EXPECT_EQ(quick.get(), 10);
}

TEST_F(ExecutorTest, AsCompletedYieldsInFinishingOrder) {
  Executor ex(Options(4));
  auto fs = ex.Map(SleepMs, std::vector<int>{3000, 1600, 20});
  std::vector<int> order;
  for (Future<int>& f : AsCompleted(fs)) order.push_back(f.get());
  EXPECT_EQ(order, (std::vector<int>{20, 1600, 3000}));
  EXPECT_TRUE(fs[0].ready());
  EXPECT_TRUE(fs[0].wait_for(std::chrono::milliseconds(0)));
}

TEST_F(ExecutorTest, MapFromSeveralThreadsWhileCallsArePending) {
  Executor ex(Options());
  Future<int> early = ex.Call(SleepMs, 300);
  std::vector<std::vector<Future<int>>> per_thread(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> xs;
      for (int i = 0; i < 5; ++i) xs.push_back(t * 100 + i);
      per_thread[static_cast<size_t>(t)] = ex.Map(Square, xs);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 5; ++i) {
      const int x = t * 100 + i;
      EXPECT_EQ(per_thread[static_cast<size_t>(t)][static_cast<size_t>(i)].get(), x * x);
    }
  }
  EXPECT_EQ(early.get(), 300);
}

TEST_F(ExecutorTest, AnUnregisteredFunctionIsRefusedBeforeAnythingIsSent) {
  Executor ex(Options());
  EXPECT_THROW(ex.Call(NotRegistered, 1), std::invalid_argument);
  ex.Shutdown();
  // Nothing was sent: the job never started, so it left no state.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state" / "jobs" / ex.job_id()));
}

TEST_F(ExecutorTest, AResultOfAnotherTypeIsATaskErrorNamingTheFunctionAndType) {
  auto st = std::make_shared<detail::CallState>("Stringy", false);
  st->Succeed(detail::EncodeValue(std::string("not a number")));
  Future<int> f(st);
  try {
    f.get();
    FAIL() << "no TaskError";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.details().function, "Stringy");
    EXPECT_NE(e.details().message.find("int"), std::string::npos) << e.what();
  }
}

TEST_F(ExecutorTest, ProcessTasksShipAndBringBackFiles) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  std::ofstream("in.txt") << "hello\n";
  {
    Executor ex(Options());
    Future<ProcessResult> sum = ex.Run({"sh", "-c", "sha256sum in.txt > out.txt; echo done"},
                                       {.transfer = {"in.txt"}, .returns = {"out.txt"}});
    Future<ProcessResult> fails = ex.Run({"sh", "-c", "echo oops >&2; exit 3"});
    Future<ProcessResult> in = ex.Run({"cat"}, {.stdin_data = "piped", .env = {{"A", "b"}}});
    ProcessResult r = sum.get();
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stdout_data, "done\n");
    ASSERT_EQ(r.returned, std::vector<std::string>{"out.txt"});
    std::stringstream got;
    got << std::ifstream("out.txt").rdbuf();
    EXPECT_EQ(got.str(),
              "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  in.txt\n");
    ProcessResult f = fails.get();  // exited: a result, not an error
    EXPECT_EQ(f.exit_code, 3);
    EXPECT_EQ(f.stderr_data, "oops\n");
    EXPECT_EQ(in.get().stdout_data, "piped");
  }
  std::filesystem::current_path(cwd);
}

TEST_F(ExecutorTest, TheJobIsRecordedLikeACliJob) {
  std::string id;
  {
    Executor ex(Options());
    id = ex.job_id();
    auto fs = ex.Map(Square, std::vector<int>{1, 2, 3});
    for (auto& f : fs) f.get();
    ex.Call(Touch, (dir_ / "touched").string()).get();
  }
  const auto job = dir_ / "state" / "jobs" / id;
  std::ifstream manifest(job / "results.jsonl");
  int lines = 0;
  std::set<int64_t> seqs;
  for (std::string line; std::getline(manifest, line); ++lines) {
    auto j = nlohmann::json::parse(line);
    seqs.insert(j.at("seq").get<int64_t>());
    EXPECT_EQ(j.at("outcome"), "succeeded") << line;
  }
  EXPECT_EQ(lines, 4);
  EXPECT_EQ(seqs, (std::set<int64_t>{1, 2, 3, 4}));
  auto info = nlohmann::json::parse(std::ifstream(job / "job.json"));
  EXPECT_EQ(info.at("status"), "finished") << info.dump();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "touched"));
}

TEST_F(ExecutorTest, CancelEndsEveryPendingCall) {
  Executor ex(Options(1));
  auto fs = ex.Map(SleepMs, std::vector<int>{20000, 20000, 20000});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  ex.Cancel();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(15));
  for (auto& f : fs) {
    auto r = f.result();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string(r.error().what()).find("cancelled"), std::string::npos)
        << r.error().what();
  }
  EXPECT_FALSE(fs[2].result().error().details().ran);
  // After the end, a call fails at once.
  EXPECT_FALSE(ex.Call(Square, 2).result().ok());
}

}  // namespace
}  // namespace parallelagram
