#include "worker/sha256_lite.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "common/sha256.h"  // OpenSSL: the oracle

namespace parallelagram {
namespace {

TEST(Sha256LiteTest, FipsVectors) {
  EXPECT_EQ(Sha256LiteHex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256LiteHex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256LiteHex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256LiteTest, AgreesWithOpenSslOnEveryLengthAndSplit) {
  std::mt19937 rng(42);
  std::string data(3000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t len = 0; len <= 300; ++len) {
    std::string_view d(data.data(), len);
    ASSERT_EQ(Sha256LiteHex(d), Sha256Hex(d)) << "length " << len;
  }
  for (size_t split = 0; split < 200; split += 7) {
    Sha256Lite h;
    h.Update(std::string_view(data).substr(0, split));
    h.Update(std::string_view(data).substr(split, 61));
    h.Update(std::string_view(data).substr(split + 61));
    ASSERT_EQ(h.FinishHex(), Sha256Hex(data)) << "split " << split;
  }
}

TEST(Sha256LiteTest, Files) {
  std::string path = "/tmp/pg-sha256-lite-test-" + std::to_string(::getpid());
  std::string content(200'001, 'z');
  std::ofstream(path, std::ios::binary) << content;
  EXPECT_EQ(Sha256LiteFile(path).value(), Sha256Hex(content));
  ::unlink(path.c_str());
  EXPECT_FALSE(Sha256LiteFile(path).ok());
}

}  // namespace
}  // namespace parallelagram
