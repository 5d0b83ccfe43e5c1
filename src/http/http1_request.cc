#include "http/http1_request.h"

#include <cctype>
#include <chrono>
#include <cstdlib>

namespace parallelagram {

std::optional<Http1Url> ParseHttp1Url(std::string_view url) {
  Http1Url u;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, scheme_end));
  LowerAsciiInPlace(scheme);
  if (scheme == "https") {
    u.tls = true;
  } else if (scheme != "http") {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  u.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (u.target[0] == '?') u.target.insert(0, "/");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string_view default_port = u.tls ? "443" : "80";
  u.host = std::string(host);
  LowerAsciiInPlace(u.host);
  u.port = port.empty() ? std::string(default_port) : std::string(port);
  bool v6 = u.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.host + "]" : u.host;
  if (!port.empty() && port != default_port) u.host_header += ":" + u.port;
  return u;
}

Status CheckHttp1Headers(const HttpHeaders& headers) {
  // memchr per byte sought: a signed request's long values (Authorization, a session
  // token) are scanned at memory speed.
  auto breaks = [](const std::string& s) {
    return s.find('\r') != std::string::npos || s.find('\n') != std::string::npos;
  };
  for (const auto& [k, v] : headers) {
    if (breaks(k) || k.find(':') != std::string::npos || breaks(v)) {
      return Status::InvalidArgument("HTTP header '" + k.substr(0, 64) +
                                     "' has a line break or colon in its name or value");
    }
  }
  return Status::Ok();
}

std::string Http1RequestBytes(const HttpRequest& r, const Http1Url& url) {
  std::string w;
  bool has_host = false, has_length = false;
  size_t size = r.method.size() + url.target.size() + url.host_header.size() + r.body.size() + 64;
  for (const auto& [k, v] : r.headers) {
    size += k.size() + v.size() + 4;
    if (HeaderNameEquals(k, "host")) has_host = true;
    if (HeaderNameEquals(k, "content-length")) has_length = true;
  }
  w.reserve(size);
  w += r.method;
  w += ' ';
  w += url.target;
  w += " HTTP/1.1\r\n";
  if (!has_host) {
    w += "Host: ";
    w += url.host_header;
    w += "\r\n";
  }
  for (const auto& [k, v] : r.headers) {
    w += k;
    w += ": ";
    w += v;
    w += "\r\n";
  }
  const bool body_method = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (!has_length && (!r.body.empty() || body_method)) {
    w += "Content-Length: ";
    w += std::to_string(r.body.size());
    w += "\r\n";
  }
  w += "\r\n";
  w += r.body;
  return w;
}

bool ProxyVariableSet() {
  for (const char* name :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return true;
  }
  return false;
}

void LowerAsciiInPlace(std::string& s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace parallelagram
