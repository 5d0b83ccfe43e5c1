#include "common/time_parse.h"

#include <gtest/gtest.h>

namespace parallelagram {
namespace {

constexpr int64_t k20150830T123600Z = 1440938160000;  // date -u -d 2015-08-30T12:36:00Z +%s

TEST(TimeParse, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
}

TEST(TimeParse, Iso8601Forms) {
  int64_t ms = 0;
  ASSERT_TRUE(ParseIso8601("2015-08-30T12:36:00Z", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  ASSERT_TRUE(ParseIso8601("20150830T123600Z", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  ASSERT_TRUE(ParseIso8601("2015-08-30T12:36:00.5Z", &ms));
  EXPECT_EQ(ms, k20150830T123600Z + 500);
  ASSERT_TRUE(ParseIso8601("2015-08-30T12:36:00.123456Z", &ms));
  EXPECT_EQ(ms, k20150830T123600Z + 123);
  ASSERT_TRUE(ParseIso8601("2015-08-30T14:36:00+02:00", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  ASSERT_TRUE(ParseIso8601("2015-08-30T10:36:00-02:00", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  ASSERT_TRUE(ParseIso8601("2015-08-30 12:36:00", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
}

TEST(TimeParse, Iso8601Rejects) {
  int64_t ms = 42;
  for (const char* bad :
       {"", "yesterday", "2015-08-30T12:36:00 PST", "2015-13-30T12:36:00Z", "2015-08-30T24:00:00Z",
        "2015-08-30T12:36:00.Z", "20150830T123600", "20150830X123600Z", "2015083T123600ZZ",
        "2015-08-30T12:36Z", "2015-08-30T12:36:00+0200"}) {
    EXPECT_FALSE(ParseIso8601(bad, &ms)) << bad;
  }
  EXPECT_EQ(ms, 42);
}

TEST(TimeParse, HttpDate) {
  int64_t ms = 0;
  ASSERT_TRUE(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  ASSERT_TRUE(ParseHttpDate("20150830T123600Z", &ms));
  EXPECT_EQ(ms, k20150830T123600Z);
  EXPECT_FALSE(ParseHttpDate("Sun, 30 Foo 2015 12:36:00 GMT", &ms));
  EXPECT_FALSE(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 PST", &ms));
}

}  // namespace
}  // namespace parallelagram
