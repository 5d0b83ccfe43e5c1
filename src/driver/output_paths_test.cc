#include "driver/output_paths.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/outpaths-XXXXXX";
  return mkdtemp(tmpl.data());
}

TEST(OutputPathsTest, RefusesResultsAndJoblogThatCannotBeWritten) {
  std::string d = TempDir();
  std::ofstream(d + "/file") << "x";
  RunOptions o;
  o.results_dir = d + "/file";
  EXPECT_EQ(CheckOutputPaths(o).code(), StatusCode::kInvalidArgument);
  o.results_dir = d + "/file/sub";
  EXPECT_EQ(CheckOutputPaths(o).code(), StatusCode::kInvalidArgument);
  o.results_dir = d + "/new/deeper";  // made later: fine
  EXPECT_TRUE(CheckOutputPaths(o).ok());
  EXPECT_FALSE(std::filesystem::exists(d + "/new"));  // nothing created
  o.results_dir = d;
  EXPECT_TRUE(CheckOutputPaths(o).ok());
  o.joblog = d;
  EXPECT_EQ(CheckOutputPaths(o).code(), StatusCode::kInvalidArgument);
  o.joblog = d + "/missing/log";
  EXPECT_EQ(CheckOutputPaths(o).code(), StatusCode::kInvalidArgument);
  o.joblog = d + "/log";
  EXPECT_TRUE(CheckOutputPaths(o).ok());
}

TEST(JobIdAndGuardTest, JobIdsAreOnePlainName) {
  const std::vector<std::string> bads = {
      "", ".", "..", "a/b", "../x", std::string("a\0b", 3), std::string(201, 'a')};
  for (const std::string& bad : bads) {
    Status s = CheckJobId(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message().find('\0'), std::string::npos);
  }
  EXPECT_TRUE(CheckJobId("20261125-194233-7f3a").ok());
  std::string root = TempDir();
  EXPECT_FALSE(ReadJob(root, "..").ok());
  EXPECT_FALSE(ReadResults(root, ".").ok());
  JobState st;
  EXPECT_EQ(st.Create(root, "..").code(), StatusCode::kInvalidArgument);
}

TEST(JobIdAndGuardTest, NewJobGuardRemovesTheJobUnlessKept) {
  std::string root = TempDir();
  {
    JobState st;
    ASSERT_TRUE(st.Create(root, "gone").ok());
    NewJobGuard guard(st.dir());
  }
  EXPECT_FALSE(std::filesystem::exists(root + "/jobs/gone"));
  {
    JobState st;
    ASSERT_TRUE(st.Create(root, "gone").ok());  // the id is usable again
    NewJobGuard guard(st.dir());
    guard.Keep();
  }
  EXPECT_TRUE(std::filesystem::exists(root + "/jobs/gone"));
}

TEST(JobIdAndGuardTest, JobInfoWithBytesThatAreNotUtf8IsWritten) {
  std::string root = TempDir();
  JobState st;
  ASSERT_TRUE(st.Create(root, "bytes").ok());
  nlohmann::json info = {{"command_line", std::string("echo \xff")}};
  EXPECT_TRUE(st.WriteJobInfo(info).ok());  // used to abort: nlohmann's dump() threw
  EXPECT_TRUE(std::filesystem::exists(root + "/jobs/bytes/job.json"));
}

}  // namespace
}  // namespace parallelagram::driver
