// LineFile: whole lines, each in the file when Append returns; truncate or append on Open.
#include "driver/line_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

using testing::Slurp;

TEST(LineFileTest, AppendsAtOnceAndReopens) {
  const std::string path =
      (fs::temp_directory_path() / ("pg_line_file_" + std::to_string(getpid()))).string();
  fs::remove(path);
  {
    LineFile f;
    ASSERT_TRUE(f.Open(path, false).ok());
    ASSERT_TRUE(f.Append("a\n").ok());
    EXPECT_EQ(Slurp(path), "a\n");  // no buffering in the process
    std::string big(1 << 20, 'x');
    big += '\n';
    ASSERT_TRUE(f.Append(big).ok());
    EXPECT_EQ(f.size(), static_cast<int64_t>(2 + big.size()));
  }
  LineFile f;
  ASSERT_TRUE(f.Open(path, false).ok());
  EXPECT_EQ(f.size(), static_cast<int64_t>(2 + (1 << 20) + 1));
  ASSERT_TRUE(f.Open(path, true).ok());
  ASSERT_TRUE(f.Append("b\n").ok());
  EXPECT_EQ(Slurp(path), "b\n");
  fs::remove(path);
}

TEST(LineFileTest, FailedWriteNamesThePath) {
  LineFile f;
  ASSERT_TRUE(f.Open("/dev/full", false).ok());
  Status s = f.Append("line\n");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos) << s.message();
  Status bad = f.Open("/nonexistent-dir/x", false);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("/nonexistent-dir/x"), std::string::npos);
}

}  // namespace
}  // namespace parallelagram::driver
