#include "common/base64.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

namespace parallelagram {
namespace {

// OpenSSL's encoder is the oracle.
std::string OpenSslEncode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

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

TEST(Base64Test, AgreesWithOpenSslAndRoundTrips) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::string b(len, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    std::string enc = Base64Encode(b);
    ASSERT_EQ(enc, OpenSslEncode(b)) << "length " << len;
    ASSERT_EQ(Base64Decode(enc).value(), b) << "length " << len;
  }
}

TEST(Base64Test, RejectsInvalidText) {
  EXPECT_FALSE(Base64Decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v!A=="));  // bad character
  EXPECT_FALSE(Base64Decode("Z==="));      // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zm9v"));  // padding in the middle
  EXPECT_FALSE(Base64Decode("Zm=v"));      // padding before data
}

}  // namespace
}  // namespace parallelagram
