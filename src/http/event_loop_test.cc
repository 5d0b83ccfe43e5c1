#include "http/event_loop.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace parallelagram {
namespace {

TEST(EventLoopTest, TimersFireInDeadlineOrderAndRunReturnsWhenIdle) {
  EventLoop loop;
  std::vector<int> order;
  // Added in reverse order, far enough apart that a stall between the calls on a
  // loaded machine cannot reorder them.
  loop.AddTimer(300, [&] { order.push_back(3); });
  loop.AddTimer(150, [&] { order.push_back(2); });
  loop.AddTimer(0, [&] { order.push_back(1); });
  auto start = std::chrono::steady_clock::now();
  loop.Run();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(ms, 299);
}

TEST(EventLoopTest, CancelledTimerNeverFires) {
  EventLoop loop;
  bool fired = false;
  auto id = loop.AddTimer(5, [&] { fired = true; });
  loop.CancelTimer(id);
  loop.CancelTimer(id);  // twice: no-op
  loop.AddTimer(20, [] {});
  loop.Run();
  EXPECT_FALSE(fired);
}

TEST(EventLoopTest, ZeroDelayTimerAddedByCallbackWaitsForNextIteration) {
  EventLoop loop;
  int count = 0;
  std::function<void()> again = [&] {
    if (++count < 5) loop.AddTimer(0, again);
  };
  loop.AddTimer(0, again);
  loop.RunOnce(0);
  EXPECT_EQ(count, 1);
  loop.Run();
  EXPECT_EQ(count, 5);
}

TEST(EventLoopTest, PostFromAnotherThreadWakesABlockedLoop) {
  EventLoop loop;
  std::atomic<bool> ran{false};
  // Keeps the loop pending long enough; the post must wake it well before.
  auto keep = loop.AddTimer(10000, [] {});
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loop.Post([&] {
      ran = true;
      loop.CancelTimer(keep);
      loop.Stop();
    });
  });
  auto start = std::chrono::steady_clock::now();
  loop.Run();
  t.join();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_TRUE(ran);
  EXPECT_LT(ms, 5000);
}

TEST(EventLoopTest, RaiseFileDescriptorLimitReachesTheHardLimit) {
  uint64_t got = RaiseFileDescriptorLimit();
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(got, lim.rlim_cur);
  EXPECT_EQ(lim.rlim_cur, lim.rlim_max);
}

}  // namespace
}  // namespace parallelagram
