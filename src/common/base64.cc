#include "common/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace parallelagram {

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  // EVP_EncodeBlock takes an int length: encode in chunks of a multiple of 3 bytes.
  constexpr size_t kChunk = size_t{3} << 20;
  out.resize(4 * ((bytes.size() + 2) / 3));
  size_t done = 0;
  size_t written = 0;
  while (done < bytes.size()) {
    size_t n = std::min(kChunk, bytes.size() - done);
    int w = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()) + written, in + done,
                            static_cast<int>(n));
    written += static_cast<size_t>(w);
    done += n;
  }
  out.resize(written);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  // EVP_DecodeBlock trims surrounding whitespace and does not report padding: check the
  // strict form (RFC 4648, padding required) here, then let OpenSSL decode.
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text[text.size() - 2] == '=') ++pad;
  size_t first_pad = text.find('=');
  if (first_pad != std::string_view::npos && first_pad != text.size() - pad) {
    return std::nullopt;  // '=' only as the final padding
  }
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size(); ++i) {
    if (in[i] <= ' ') return std::nullopt;  // EVP_DecodeBlock would skip whitespace
  }
  std::string out(3 * (text.size() / 4), '\0');
  constexpr size_t kChunk = size_t{4} << 20;  // a multiple of 4 that fits an int
  size_t done = 0;
  size_t written = 0;
  while (done < text.size()) {
    size_t n = std::min(kChunk, text.size() - done);
    int w = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()) + written, in + done,
                            static_cast<int>(n));
    if (w < 0) return std::nullopt;
    written += static_cast<size_t>(w);
    done += n;
  }
  out.resize(written - pad);
  return out;
}

}  // namespace parallelagram
