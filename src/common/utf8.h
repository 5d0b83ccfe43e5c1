#pragma once
#include <string_view>

namespace parallelagram {
// True when `s` is well-formed UTF-8 (no overlongs, surrogates or NUL bytes),
// i.e. safe to put in a JSON string as text.
bool IsValidUtf8(std::string_view s);
}  // namespace parallelagram
