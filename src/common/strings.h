// Small ASCII text helpers shared by the layers (one definition each, so that no two files
// of a layer carry their own copy).
#pragma once

#include <string>
#include <string_view>

namespace parallelagram {

// `s` with A-Z turned into a-z; other bytes unchanged.
std::string AsciiLower(std::string_view s);

// `s` without leading and trailing bytes found in `chars`.
std::string Trim(std::string_view s, std::string_view chars = " \t\r\n");

}  // namespace parallelagram
