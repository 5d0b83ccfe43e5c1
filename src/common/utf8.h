#pragma once
#include <cstddef>
#include <string_view>

namespace parallelagram {
// True when `s` is well-formed UTF-8 (no overlongs, surrogates or NUL bytes),
// i.e. safe to put in a JSON string as text.
bool IsValidUtf8(std::string_view s);
// The length (1-4) of the well-formed UTF-8 sequence starting at s[i], or 0 when the bytes
// there are not one (NUL counts as not one). Requires i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);
}  // namespace parallelagram
