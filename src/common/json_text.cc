#include "common/json_text.h"

#include <fmt/format.h>

#include "common/base64.h"
#include "common/utf8.h"

namespace parallelagram {

using json = nlohmann::json;

std::string DumpLenient(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json BytesToJson(std::string_view bytes) {
  if (IsValidUtf8(bytes)) return json(std::string(bytes));
  return json{{"b64", Base64Encode(bytes)}};
}

std::optional<std::string> BytesFromJson(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.size() == 1 && j.contains("b64") && j["b64"].is_string()) {
    return Base64Decode(j["b64"].get<std::string>());
  }
  return std::nullopt;
}

json BytesArrayToJson(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(BytesToJson(s));
  return a;
}

std::optional<std::vector<std::string>> BytesArrayFromJson(const json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j) {
    auto s = BytesFromJson(e);
    if (!s) return std::nullopt;
    out.push_back(std::move(*s));
  }
  return out;
}

std::string EscapeForMessage(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    auto c = static_cast<unsigned char>(bytes[i]);
    size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0 || c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace parallelagram
