#include "driver/input_feed.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace parallelagram::driver {
namespace {

// A pipe whose read end is a `::::` path (/dev/fd/N) and whose write end the test feeds.
struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    CloseWrite();
    if (fds[0] >= 0) ::close(fds[0]);
  }
  std::string path() const { return "/dev/fd/" + std::to_string(fds[0]); }
  void Write(const std::string& s) {
    ASSERT_EQ(::write(fds[1], s.data(), s.size()), ssize_t(s.size()));
  }
  void CloseWrite() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
};

InputSource Fixed(std::vector<std::string> v) {
  InputSource s;
  s.origin = "fixed";
  s.values = std::move(v);
  return s;
}

InputSource Streamed(const std::string& path) {
  InputSource s;
  s.origin = path;
  s.stream_path = path;
  return s;
}

// Pulls with `block` until kEnd; every task's values joined by ",".
std::vector<std::string> Drain(InputFeed& f) {
  std::vector<std::string> out, v;
  while (f.Pull(&v, true) == InputFeed::Next::kTask) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
    out.push_back(s);
  }
  return out;
}

// What the whole sources make (inputs.h's order): the oracle for the streamed feed.
std::vector<std::string> Whole(const std::vector<InputSource>& srcs, bool link) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < CountTasks(srcs, link); ++i) {
    auto v = TaskValues(srcs, link, i);
    std::string s;
    for (size_t k = 0; k < v.size(); ++k) s += (k ? "," : "") + v[k];
    out.push_back(s);
  }
  return out;
}

TEST(InputFeedTest, FirstTaskOfAStreamIsReadyBeforeTheStreamEnds) {
  Pipe p;
  std::atomic<int> wakes{0};
  auto f = InputFeed::Open({Streamed(p.path())}, false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  (*f)->SetWake([&] { ++wakes; });
  std::vector<std::string> v;
  EXPECT_EQ((*f)->Pull(&v), InputFeed::Next::kWait);  // nothing written yet
  p.Write("a\n");
  // The reader thread wakes the waiting consumer once the line is there.
  for (int i = 0; i < 200 && wakes == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(wakes.load(), 1);
  ASSERT_EQ((*f)->Pull(&v), InputFeed::Next::kTask);
  EXPECT_EQ(v, std::vector<std::string>{"a"});
  EXPECT_EQ((*f)->known_total(), -1);  // the stream has not ended
  p.Write("b\r\nc");                   // CRLF and a last line without a newline
  p.CloseWrite();
  ASSERT_EQ((*f)->Pull(&v, true), InputFeed::Next::kTask);
  EXPECT_EQ(v[0], "b");
  ASSERT_EQ((*f)->Pull(&v, true), InputFeed::Next::kTask);
  EXPECT_EQ(v[0], "c");
  EXPECT_EQ((*f)->Pull(&v, true), InputFeed::Next::kEnd);
  EXPECT_EQ((*f)->known_total(), 3);
}

TEST(InputFeedTest, ProductAndLinkWithAStreamedLastSourceKeepGnuParallelsOrder) {
  for (bool link : {false, true}) {
    for (const std::string input : {"1\n2\n3\n", "1\n", "1\n2\n3\n4\n5\n6\n7\n"}) {
      Pipe p;
      std::vector<InputSource> srcs = {Fixed({"x", "y", "z"}), Fixed({"p", "q"}),
                                       Streamed(p.path())};
      std::vector<std::string> recorded;
      int64_t ended = -1;
      auto f = InputFeed::Open(srcs, link);
      ASSERT_TRUE(f.ok());
      (*f)->SetRecorder(
          [&](const std::vector<std::string>& vs) {  // the reader thread, before the pops
            recorded.insert(recorded.end(), vs.begin(), vs.end());
          },
          [&](int64_t n) { ended = n; });
      std::thread w([&] {
        p.Write(input);
        p.CloseWrite();
      });
      std::vector<std::string> got = Drain(**f);
      w.join();
      // The oracle: the same sources read whole.
      std::vector<InputSource> whole = {srcs[0], srcs[1], Fixed(recorded)};
      EXPECT_EQ(got, Whole(whole, link)) << "link=" << link << " input=" << input;
      EXPECT_EQ(ended, static_cast<int64_t>(recorded.size()));
      EXPECT_EQ((*f)->known_total(), static_cast<int64_t>(got.size()));
    }
  }
}

TEST(InputFeedTest, ProductStartsItsFirstCombinationWhileTheStreamIsOpen) {
  Pipe p;
  auto f = InputFeed::Open({Fixed({"x", "y"}), Streamed(p.path())}, false);
  ASSERT_TRUE(f.ok());
  p.Write("a\n");
  std::vector<std::string> v;
  ASSERT_EQ((*f)->Pull(&v, true), InputFeed::Next::kTask);
  EXPECT_EQ(v, (std::vector<std::string>{"x", "a"}));
  EXPECT_EQ((*f)->Pull(&v), InputFeed::Next::kWait);  // "y a" needs the stream's end
  p.Write("b\n");
  p.CloseWrite();
  std::vector<std::string> rest = Drain(**f);
  EXPECT_EQ(rest, (std::vector<std::string>{"x,b", "y,a", "y,b"}));
}

TEST(InputFeedTest, AnEmptyFixedSourceMakesNoTaskAndAnUnreadableFileIsAnError) {
  Pipe p;
  auto f = InputFeed::Open({Fixed({}), Streamed(p.path())}, false);
  ASSERT_TRUE(f.ok());
  p.Write("a\n");
  std::vector<std::string> v;
  EXPECT_EQ((*f)->Pull(&v, true), InputFeed::Next::kEnd);
  auto bad = InputFeed::Open({Streamed("/nonexistent/inputs")}, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent/inputs"), std::string::npos);
}

}  // namespace
}  // namespace parallelagram::driver
