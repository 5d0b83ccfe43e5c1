#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace parallelagram {
namespace {

// OpenSSL's block calls take int lengths: runs `step(offset, length)` over [0, total) in
// pieces of at most `chunk` bytes and sums what the steps return; a negative step result
// stops and is returned.
template <typename Step>
long long InChunks(size_t total, size_t chunk, Step step) {
  long long sum = 0;
  for (size_t off = 0; off < total; off += chunk) {
    int n = step(off, static_cast<int>(std::min(chunk, total - off)));
    if (n < 0) return n;
    sum += n;
  }
  return sum;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
  // Pieces of a multiple of 3 bytes encode to 4/3 as many characters with no padding.
  InChunks(bytes.size(), size_t{3} << 20,
           [&](size_t off, int len) { return EVP_EncodeBlock(dst + off / 3 * 4, src + off, len); });
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // EVP_DecodeBlock trims surrounding whitespace and does not report padding: check the
  // strict form (RFC 4648, padding required) here, then let OpenSSL decode.
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  size_t pad = (text.back() == '=') + (text[text.size() - 2] == '=');
  size_t first_pad = text.find('=');
  if (first_pad != std::string_view::npos && first_pad != text.size() - pad) {
    return std::nullopt;  // '=' only as the final padding
  }
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  if (std::any_of(src, src + text.size(), [](unsigned char c) { return c <= ' '; })) {
    return std::nullopt;  // EVP_DecodeBlock would skip whitespace
  }
  std::string out(3 * (text.size() / 4), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  long long n = InChunks(text.size(), size_t{4} << 20, [&](size_t off, int len) {
    return EVP_DecodeBlock(dst + off / 4 * 3, src + off, len);
  });
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace parallelagram
