// JSON text for values that may hold bytes that are not UTF-8 (file names, command words,
// anything a user, a client or a function sent). nlohmann's plain dump() throws on such
// bytes; these never do. Thread-safety: free functions, no state.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parallelagram {

// `j` as JSON text (indent as nlohmann's dump: -1 = one line); bytes that are not UTF-8 are
// replaced by U+FFFD. For text that echoes input (error messages): lossy, never throws.
std::string DumpLenient(const nlohmann::json& j, int indent = -1);

// Bytes as a JSON value, losslessly: a string when they are valid UTF-8 without NUL bytes,
// else {"b64": base64}. The shape inputs.jsonl uses.
nlohmann::json BytesToJson(std::string_view bytes);
// The inverse: a string, or {"b64": ...}. nullopt for any other value or bad base64.
std::optional<std::string> BytesFromJson(const nlohmann::json& j);

// An array of byte strings, each element as BytesToJson; and back (nullopt if any element is
// of neither shape or `j` is not an array).
nlohmann::json BytesArrayToJson(const std::vector<std::string>& v);
std::optional<std::vector<std::string>> BytesArrayFromJson(const nlohmann::json& j);

// Bytes shown to a person on one line: valid UTF-8 as it is; every other byte, control
// characters and NUL as \xNN (so a message is never cut at a NUL nor breaks a terminal).
std::string EscapeForMessage(std::string_view bytes);

}  // namespace parallelagram
