#include "parallelagram/status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "parallelagram/task.h"

namespace parallelagram {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  PG_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Status::NotFound("x").WithContext("f").ToString(), "NotFound: f: x");
}

TEST(CommonTest, Base64RoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x01", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_EQ(Base64Encode("hi"), "aGk=");
}

TEST(CommonTest, Sha256) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(HmacSha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(CommonTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("héllo ✓ 😀"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
  EXPECT_FALSE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8("\xe2\x9c"));
}

}  // namespace
}  // namespace parallelagram
