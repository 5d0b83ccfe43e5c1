#include "common/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace parallelagram {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zm9vYg==").value(), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE=").value(), "fooba");
  EXPECT_EQ(Base64Decode("").value(), "");
}

TEST(Base64Test, RoundTripsAnyBytes) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::string b(len, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    std::string enc = Base64Encode(b);
    ASSERT_EQ(enc.size(), 4 * ((len + 2) / 3)) << "length " << len;
    ASSERT_EQ(Base64Decode(enc).value(), b) << "length " << len;
  }
}

TEST(Base64Test, RoundTripsMoreThanOneChunk) {
  // Longer than the 3 MiB / 4 MiB pieces handed to OpenSSL's int-sized calls.
  std::string b((size_t{7} << 20) + 1, '\0');
  std::mt19937 rng(9);
  for (auto& c : b) c = static_cast<char>(rng());
  std::string enc = Base64Encode(b);
  ASSERT_EQ(enc.size(), 4 * ((b.size() + 2) / 3));
  EXPECT_EQ(enc.substr(0, 8), Base64Encode(b.substr(0, 6)));
  ASSERT_EQ(Base64Decode(enc).value(), b);
}

TEST(Base64Test, RejectsInvalidText) {
  EXPECT_FALSE(Base64Decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v!A=="));  // bad character
  EXPECT_FALSE(Base64Decode("Z==="));      // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zm9v"));  // padding in the middle
  EXPECT_FALSE(Base64Decode("Zm=v"));      // padding before data
  EXPECT_FALSE(Base64Decode(" Zm9v   "));  // surrounding whitespace (OpenSSL would trim it)
  EXPECT_FALSE(Base64Decode("Zm9\nvYmFy"));
}

}  // namespace
}  // namespace parallelagram
