#include "driver/job_output.h"

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

TEST(TagLinesTest, EveryLineStartsWithTheTagAndATabAsGnuParallelTags) {
  EXPECT_EQ(TagLines("x\ny\n", "a 1\t"), "a 1\tx\na 1\ty\n");
  EXPECT_EQ(TagLines("x\ny", "a\t"), "a\tx\na\ty");  // a last line without '\n' too, none added
  EXPECT_EQ(TagLines("\n\n", "t\t"), "t\t\nt\t\n");  // empty lines are lines
  EXPECT_EQ(TagLines("", "a\t"), "");                // no output, nothing printed
  EXPECT_EQ(TagLines("x\n", ""), "x\n");             // no tag: untouched
  EXPECT_EQ(TagLines("x\n", "\t"), "\tx\n");         // an empty value's tag (--pipe's)
}

}  // namespace
}  // namespace parallelagram::driver
