// A self-contained SHA-256 (FIPS 180-4) for the worker.
//
// The worker is linked fully static for its cold start; OpenSSL's static libcrypto would
// bring dlopen/getaddrinfo into that link, so the worker hashes staged files with this
// instead of common/sha256.h. Verified against OpenSSL in sha256_lite_test.cc.
// Portable C++ (about 200-400 MB/s); a value type, not thread-safe per instance.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "parallelagram/status.h"

namespace parallelagram {

class Sha256Lite {
 public:
  Sha256Lite();
  void Update(std::string_view data);
  // The lower-case hex digest. The object must not be updated afterwards.
  std::string FinishHex();

 private:
  void Block(const unsigned char* p);
  std::array<uint32_t, 8> h_;
  unsigned char buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string Sha256LiteHex(std::string_view data);
// Hex SHA-256 of a file's content, streamed. IoError when it cannot be read.
Result<std::string> Sha256LiteFile(const std::string& path);

}  // namespace parallelagram
