#include "local/lambda_types.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "common/json_text.h"

namespace parallelagram::local {

namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {
// Which error shapes carry "Message" (capitalised) in AWS's Lambda model.
bool CapitalMessage(const std::string& type) {
  return type == "ResourceNotFoundException" || type == "ServiceException" ||
         type == "EC2ThrottledException" || type == "UnknownOperationException" ||
         type == "MissingAuthenticationTokenException" || type == "InvalidSignatureException" ||
         type == "UnrecognizedClientException";
}
}  // namespace

HttpResponseMsg AwsErrorWith(const HttpRequestMsg& req, int status, const std::string& type,
                             const std::string& message, const std::string& request_id,
                             const json& extra) {
  json body = json::object();
  body["Type"] = status >= 500 ? "Service" : "User";
  body[CapitalMessage(type) ? "Message" : "message"] = message;
  if (extra.is_object()) {
    for (auto& [k, v] : extra.items()) body[k] = v;
  }
  HttpResponseMsg res = MakeResponse(req, status, DumpLenient(body));
  res.set("x-amzn-RequestId", request_id);
  res.set("x-amzn-ErrorType", type);
  return res;
}

HttpResponseMsg AwsError(const HttpRequestMsg& req, int status, const std::string& type,
                         const std::string& message, const std::string& request_id) {
  return AwsErrorWith(req, status, type, message, request_id, json());
}

std::optional<std::string> ParseFunctionName(const std::string& ref, std::string* qualifier) {
  qualifier->clear();
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t c = ref.find(':', start);
    parts.push_back(ref.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  std::string name;
  if (parts.size() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function") {
    name = parts[6];
    if (parts.size() == 8) *qualifier = parts[7];
    if (parts.size() > 8) return std::nullopt;
  } else if (parts.size() >= 3 && parts[1] == "function") {
    name = parts[2];
    if (parts.size() == 4) *qualifier = parts[3];
    if (parts.size() > 4) return std::nullopt;
  } else if (parts.size() <= 2) {
    name = parts[0];
    if (parts.size() == 2) *qualifier = parts[1];
  } else {
    return std::nullopt;
  }
  if (name.empty() || name.size() > 64) return std::nullopt;
  for (char ch : name) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) return std::nullopt;
  }
  return name;
}

std::string NewRequestId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
                     b >> 48, b & 0xffffffffffffULL);
}

static std::string FormatTime(int64_t epoch_ms, const char* zone) {
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}{}", buf, static_cast<int>(epoch_ms % 1000), zone);
}

std::string IsoTimestampMs(int64_t epoch_ms) { return FormatTime(epoch_ms, "Z"); }
std::string LambdaTimestamp(int64_t epoch_ms) { return FormatTime(epoch_ms, "+0000"); }

std::string PercentDecode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace parallelagram::local
