#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace parallelagram {
std::string Base64Encode(std::string_view bytes);
// Returns nullopt when `text` is not valid standard base64 (padding required).
std::optional<std::string> Base64Decode(std::string_view text);
}  // namespace parallelagram
