#include "driver/inputs.h"

#include <cstdio>

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

std::vector<InputSource> Sources(std::vector<std::vector<std::string>> v) {
  std::vector<InputSource> out;
  for (auto& s : v) out.push_back(InputSource{"test", std::move(s)});
  return out;
}

std::vector<std::string> All(const std::vector<InputSource>& s, bool link) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < CountTasks(s, link); ++i) {
    std::string line;
    for (const auto& v : TaskValues(s, link, i)) line += v + ",";
    out.push_back(line);
  }
  return out;
}

TEST(InputsTest, CartesianProductLastVariesFastest) {
  auto s = Sources({{"a", "b"}, {"1", "2", "3"}});
  EXPECT_EQ(CountTasks(s, false), 6);
  EXPECT_EQ(All(s, false), (std::vector<std::string>{"a,1,", "a,2,", "a,3,", "b,1,", "b,2,", "b,3,"}));
}

TEST(InputsTest, LinkRecyclesShorterSources) {
  // GNU parallel --link: a 1, b 2, c 1.
  auto s = Sources({{"a", "b", "c"}, {"1", "2"}});
  EXPECT_EQ(CountTasks(s, true), 3);
  EXPECT_EQ(All(s, true), (std::vector<std::string>{"a,1,", "b,2,", "c,1,"}));
}

TEST(InputsTest, EmptySourceMeansNoTasks) {
  EXPECT_EQ(CountTasks(Sources({{"a"}, {}}), false), 0);
  EXPECT_EQ(CountTasks({}, false), 0);
}

TEST(InputsTest, ReadsLinesVerbatim) {
  std::FILE* f = std::tmpfile();
  std::string data = "a b\n  lead\r\n\n'q\"\nlast";
  std::fwrite(data.data(), 1, data.size(), f);
  std::rewind(f);
  InputSource s = ReadInputStream(f, "t");
  std::fclose(f);
  EXPECT_EQ(s.values, (std::vector<std::string>{"a b", "  lead", "", "'q\"", "last"}));
}

TEST(InputsTest, UnreadableFileIsNamed) {
  auto r = ReadInputFile("/nonexistent/inputs.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/inputs.txt"), std::string::npos);
  auto d = ReadInputFile("/");
  EXPECT_FALSE(d.ok());
}

}  // namespace
}  // namespace parallelagram::driver
