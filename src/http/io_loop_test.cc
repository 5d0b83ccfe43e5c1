#include "http/io_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "http/http_client.h"

namespace parallelagram {
namespace {

TEST(IoLoopTest, TimersFireInDeadlineOrderAndRunReturnsWhenIdle) {
  IoLoop loop;
  std::vector<int> order;
  // Taken before the first timer is added: a stall after it could otherwise make
  // the 300 ms timer look early.
  auto start = std::chrono::steady_clock::now();
  // Added in reverse order, far enough apart that a stall between the calls on a
  // loaded machine cannot reorder them.
  loop.AddTimer(300, [&] { order.push_back(3); });
  loop.AddTimer(150, [&] { order.push_back(2); });
  loop.AddTimer(0, [&] { order.push_back(1); });
  loop.Run();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(ms, 299);
}

TEST(IoLoopTest, CancelledTimerNeverFires) {
  IoLoop loop;
  bool fired = false;
  auto id = loop.AddTimer(5, [&] { fired = true; });
  loop.CancelTimer(id);
  loop.CancelTimer(id);  // twice: no-op
  loop.AddTimer(20, [] {});
  loop.Run();
  EXPECT_FALSE(fired);
}

TEST(IoLoopTest, ZeroDelayTimerAddedByCallbackWaitsForNextIteration) {
  IoLoop loop;
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

TEST(IoLoopTest, PostFromAnotherThreadWakesABlockedLoop) {
  IoLoop loop;
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

TEST(IoLoopTest, RaiseFileDescriptorLimitReachesTheHardLimit) {
  uint64_t got = RaiseFileDescriptorLimit();
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(got, lim.rlim_cur);
  EXPECT_EQ(lim.rlim_cur, lim.rlim_max);
}

// A keep-alive HTTP server on raw sockets that answers each request on a connection and then,
// `close_after_ms` after the answer, closes that connection while the client holds it idle.
class ClosingServer {
 public:
  explicit ClosingServer(int close_after_ms) : close_after_ms_(close_after_ms) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(listen_fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ClosingServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }
  int port() const { return port_; }

 private:
  void Serve() {
    for (;;) {
      int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      ++connections_;
      std::string got;
      char buf[4096];
      ssize_t n;
      while (got.find("\r\n\r\n") == std::string::npos && (n = read(c, buf, sizeof buf)) > 0) {
        got.append(buf, static_cast<size_t>(n));
      }
      static const char kReply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      [[maybe_unused]] auto w = write(c, kReply, sizeof kReply - 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(close_after_ms_));
      close(c);
    }
  }
  int close_after_ms_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// An idle kept-alive connection stays in the epoll set between transfers (no EPOLL_CTL_DEL/ADD
// per request). When its server closes it, the loop must not spin on the readable socket,
// and the next request must go out on a new connection.
TEST(IoLoopTest, IdleConnectionClosedByTheServerNeitherSpinsNorBreaksTheNextRequest) {
  ClosingServer server(/*close_after_ms=*/50);
  IoLoop loop;
  CurlHttpClient client(loop);
  HttpRequest req;
  req.url = server.url() + "/a";
  auto first = SendAndWait(loop, client, req);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->body, "ok");

  // The server closes the idle connection ~50 ms from now. A loop that kept waking up on it
  // would return from every RunOnce at once: allow a few early returns, not a spin.
  const auto start = std::chrono::steady_clock::now();
  int iterations = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(400)) {
    loop.RunOnce(100);
    ++iterations;
  }
  EXPECT_LE(iterations, 12);

  req.url = server.url() + "/b";
  auto second = SendAndWait(loop, client, req);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(server.connections(), 2);
}

// The local backend spawns worker processes from the driver's process: the client's sockets
// must not leak into them.
TEST(IoLoopTest, ClientSocketsAreCloseOnExec) {
  ClosingServer server(/*close_after_ms=*/300);
  IoLoop loop;
  CurlHttpClient client(loop);
  HttpRequest req;
  req.url = server.url() + "/a";
  auto r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::stoi(e.path().filename().string());
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != server.port()) continue;
    ++checked;
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC) << "fd " << fd;
  }
  EXPECT_EQ(checked, 1);
}

}  // namespace
}  // namespace parallelagram
