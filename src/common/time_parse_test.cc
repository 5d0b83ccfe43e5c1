#include "common/time_parse.h"

#include <gtest/gtest.h>

#include <ctime>

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

TEST(TimeParse, FormatHttpDateAgreesWithGmtime) {
  EXPECT_EQ(FormatHttpDate(k20150830T123600Z + 999), "Sun, 30 Aug 2015 12:36:00 GMT");
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  // The C library as the oracle (strftime in the "C" locale), across leap years and
  // centuries, and a round trip through ParseHttpDate.
  for (int64_t t = 0; t < 5'000'000'000LL; t += 7'777'777 + t / 1000) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char want[64];
    std::strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    std::string got = FormatHttpDate(t * 1000);
    ASSERT_EQ(got, want) << t;
    int64_t back = 0;
    ASSERT_TRUE(ParseHttpDate(got, &back));
    EXPECT_EQ(back, t * 1000);
  }
}

}  // namespace
}  // namespace parallelagram
