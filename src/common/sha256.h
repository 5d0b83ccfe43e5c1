#pragma once
#include <string>
#include <string_view>

#include "parallelagram/status.h"

namespace parallelagram {
// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte SHA-256 of `data`.
std::string Sha256Raw(std::string_view data);
// Raw HMAC-SHA256(key, data).
std::string HmacSha256(std::string_view key, std::string_view data);
// Lower-case hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);
// Hex SHA-256 of a file's content, streamed.
Result<std::string> Sha256File(const std::string& path);
}  // namespace parallelagram
