#include "driver/live_tail.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <tuple>
#include <vector>

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

class LiveTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg-live-tail-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // What a worker does: append to PREFIX.stdout / PREFIX.stderr.
  static void Append(const std::string& path, const std::string& data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }

  std::string dir_;
  std::vector<std::tuple<int64_t, bool, std::string>> got_;
  LiveTail::Sink sink_ = [this](int64_t seq, bool err, const std::string& data) {
    got_.emplace_back(seq, err, data);
  };
};

TEST_F(LiveTailTest, PollHandsOverWhatEachStreamGainedSinceTheLastRead) {
  LiveTail tail(dir_, sink_);
  auto p1 = tail.Open(1, "1.1");
  auto p2 = tail.Open(2, "2.1");
  ASSERT_TRUE(p1.ok() && p2.ok());
  EXPECT_EQ(*p1, dir_ + "/1.1");
  EXPECT_TRUE(fs::is_regular_file(*p1 + ".stdout"));
  EXPECT_TRUE(fs::is_regular_file(*p1 + ".stderr"));
  tail.Poll();
  EXPECT_TRUE(got_.empty());  // nothing written yet

  Append(*p1 + ".stdout", "a\nb");
  Append(*p2 + ".stderr", "oops\n");
  tail.Poll();
  using G = std::tuple<int64_t, bool, std::string>;
  EXPECT_EQ(got_, (std::vector<G>{{1, false, "a\nb"}, {2, true, "oops\n"}}));
  got_.clear();
  Append(*p1 + ".stdout", "c\n");
  tail.Poll();
  EXPECT_EQ(got_, (std::vector<G>{{1, false, "c\n"}}));  // only the new bytes

  // Close reads the rest, then removes the files; the other tail stays.
  got_.clear();
  Append(*p1 + ".stdout", "end");
  tail.Close(1);
  EXPECT_EQ(got_, (std::vector<G>{{1, false, "end"}}));
  EXPECT_FALSE(fs::exists(*p1 + ".stdout"));
  EXPECT_FALSE(fs::exists(*p1 + ".stderr"));
  EXPECT_EQ(tail.open_count(), 1u);
  tail.Close(1);  // no-op
}

TEST_F(LiveTailTest, ANewAttemptReplacesTheEarlierOnesTailAfterReadingIt) {
  using G = std::tuple<int64_t, bool, std::string>;
  {
    LiveTail tail(dir_, sink_);
    auto first = tail.Open(3, "3.1");
    ASSERT_TRUE(first.ok());
    Append(*first + ".stdout", "try 1\n");
    auto second = tail.Open(3, "3.2");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(got_, (std::vector<G>{{3, false, "try 1\n"}}));
    EXPECT_FALSE(fs::exists(*first + ".stdout"));
    EXPECT_EQ(tail.open_count(), 1u);
    Append(*second + ".stdout", "try 2\n");
  }
  // The destructor removes what is left (unread).
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(LiveTailTest, OpenFailsInADirectoryThatIsNotThere) {
  LiveTail tail(dir_ + "/missing", sink_);
  auto p = tail.Open(1, "1.1");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("live output"), std::string::npos);
  EXPECT_EQ(tail.open_count(), 0u);
}

}  // namespace
}  // namespace parallelagram::driver
