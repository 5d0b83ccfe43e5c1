#include "aws/sigv4.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include "common/sha256.h"
#include "common/strings.h"
#include "common/time_parse.h"

namespace parallelagram::aws {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void RemoveHeader(HttpHeaders& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return IEquals(h.first, name); });
}

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return IEquals(h.first, name); });
}

// botocore's remove_dot_segments: drops "." and empty segments, resolves "..".
std::string RemoveDotSegments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!out.empty()) out.pop_back();
      } else {
        out.push_back(seg);
      }
    }
    start = end + 1;
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

Result<std::string> HashBodyFile(const HttpRequest& request) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(request.body_file.c_str(), "rb"),
                                          &std::fclose);
  if (!f) return Status::IoError("cannot read request body file " + request.body_file);
  if (request.body_file_offset &&
      std::fseek(f.get(), static_cast<long>(request.body_file_offset), SEEK_SET) != 0) {
    return Status::IoError("cannot seek in request body file " + request.body_file);
  }
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  int64_t left = request.body_file_length;  // -1: to the end
  while (left != 0) {
    size_t want = buf.size();
    if (left > 0 && static_cast<uint64_t>(left) < want) want = static_cast<size_t>(left);
    size_t n = std::fread(buf.data(), 1, want, f.get());
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    if (left > 0) left -= static_cast<int64_t>(n);
  }
  if (std::ferror(f.get())) return Status::IoError("error reading " + request.body_file);
  if (left > 0)
    return Status::IoError("request body file is shorter than its range: " + request.body_file);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<std::string> PayloadHash(const HttpRequest& request, const SigningParams& params,
                                bool presign) {
  if (!params.payload_hash.empty()) return params.payload_hash;
  if (params.unsigned_payload || (presign && params.s3_rules)) {
    return std::string(kUnsignedPayload);
  }
  if (!request.body_file.empty()) return HashBodyFile(request);
  return Sha256Hex(request.body);
}

std::string CredentialScope(const std::string& amz_date, const std::string& region,
                            const std::string& service) {
  return amz_date.substr(0, 8) + "/" + region + "/" + service + "/aws4_request";
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  // Requests come in bursts within one second: keep the last one per thread.
  thread_local int64_t last_epoch = -1;
  thread_local std::string last;
  if (epoch_seconds == last_epoch) return last;
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  last_epoch = epoch_seconds;
  last = buf;
  return last;
}

bool ParseAmzDate(std::string_view s, int64_t* epoch_seconds) {
  int64_t ms = 0;
  if (s.size() != 16 || !ParseIso8601(s, &ms)) return false;
  *epoch_seconds = ms / 1000;
  return true;
}

std::string CanonicalUri(std::string_view wire_path, bool normalize, bool double_encode) {
  if (wire_path.empty()) wire_path = "/";
  if (double_encode) {
    std::string path = normalize ? RemoveDotSegments(wire_path) : std::string(wire_path);
    return UriEncode(path, /*keep_slash=*/true);
  }
  // Single encoding: the canonical form of each segment's bytes.
  return UriEncode(UriDecode(wire_path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view wire_query, std::string_view skip_key) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t start = 0;
  while (start <= wire_query.size() && !wire_query.empty()) {
    size_t end = wire_query.find('&', start);
    if (end == std::string_view::npos) end = wire_query.size();
    std::string_view pair = wire_query.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = UriDecode(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : UriDecode(pair.substr(eq + 1));
      if (skip_key.empty() || key != skip_key) {
        pairs.emplace_back(UriEncode(key, false), UriEncode(value, false));
      }
    }
    start = end + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string TrimAll(std::string_view value) {
  // Most values need nothing done: copy them whole.
  bool plain = value.empty() || (value.front() != ' ' && value.back() != ' ');
  for (size_t i = 0; plain && i < value.size(); ++i) {
    char c = value[i];
    if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
        (c == ' ' && value[i + 1] == ' ')) {
      plain = false;
    }
  }
  if (plain) return std::string(value);
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
  }
  return out;
}

bool IsUnsignableHeader(std::string_view n) {
  static const char* const kNames[] = {"authorization",
                                       "connection",
                                       "expect",
                                       "keep-alive",
                                       "proxy-authenticate",
                                       "proxy-authorization",
                                       "te",
                                       "trailer",
                                       "transfer-encoding",
                                       "upgrade",
                                       "user-agent",
                                       "x-amzn-trace-id"};
  for (const char* k : kNames) {
    if (n == k) return true;
  }
  return false;
}

std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret_access_key), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Byte-wise order of the lower-cased strings (what sorting lower-cased names gives).
bool LessIgnoreCase(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(LowerAscii(a[i]));
    const auto y = static_cast<unsigned char>(LowerAscii(b[i]));
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

// True when TrimAll(v) == v.
bool IsTrimmed(std::string_view v) {
  if (v.empty()) return true;
  if (IsSpace(v.front()) || IsSpace(v.back())) return false;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (IsSpace(v[i]) && (v[i] != ' ' || IsSpace(v[i + 1]))) return false;
  }
  return true;
}

// Appends TrimAll(v).
void AppendTrimmed(std::string& out, std::string_view v) {
  if (IsTrimmed(v)) {
    out.append(v);
    return;
  }
  bool pending_space = false, started = false;
  for (char c : v) {
    if (IsSpace(c)) {
      pending_space = started;
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      started = true;
      out.push_back(c);
    }
  }
}

void AppendLower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(LowerAscii(c));
}

bool IsUnsignableName(std::string_view name) {
  // Short names only: skip the comparisons for the long x-amz-* ones.
  if (name.size() > 19) return false;
  std::string lower;
  AppendLower(lower, name);
  return IsUnsignableHeader(lower);
}

// One header of the canonical request: a view of the request's (or a trimmed copy of an
// odd) name, and its raw value (trimmed when appended).
struct HeaderRef {
  std::string_view name;
  std::string_view value;
};

// Appends the canonical form of a wire path (CanonicalUri) without temporaries when the
// path needs no normalisation.
void AppendCanonicalUri(std::string& out, std::string_view wire_path, bool normalize,
                        bool double_encode) {
  if (wire_path.empty()) wire_path = "/";
  bool plain = double_encode;
  if (plain && normalize) {
    // Already normal: no empty, "." or ".." segment (the leading '/' and a trailing one
    // are kept by the normalisation).
    plain = wire_path.find("//") == std::string_view::npos;
    for (size_t start = 0; plain && start < wire_path.size();) {
      size_t end = wire_path.find('/', start);
      if (end == std::string_view::npos) end = wire_path.size();
      std::string_view seg = wire_path.substr(start, end - start);
      if (seg == "." || seg == "..") plain = false;
      start = end + 1;
    }
  }
  if (!plain) {
    out += CanonicalUri(wire_path, normalize, double_encode);
    return;
  }
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : wire_path) {
    if (IsUnreserved(c) || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

// ComputeSignature on a header list given by reference, plus a host header
// when `extra_host` is non-null (SignRequest's request has none of its own).
SigningResult Compute(std::string_view method, std::string_view wire_path,
                      std::string_view wire_query, const HttpHeaders& headers,
                      const std::string* extra_host, const std::string& payload_hash,
                      std::string_view secret_access_key, const std::string& region,
                      const std::string& service, const std::string& amz_date, bool normalize,
                      bool double_encode, std::string_view skip_query_key,
                      bool drop_unsignable_headers) {
  SigningResult r;
  r.amz_date = amz_date;
  r.payload_hash = payload_hash;
  r.credential_scope = CredentialScope(amz_date, region, service);

  // The headers by canonical name (views into `headers`; no copies), in a per-thread
  // buffer. Names with whitespace in them are trimmed into `odd` (reserved: no
  // reallocation, so the views stay valid).
  thread_local std::vector<HeaderRef> hs;
  thread_local std::vector<std::string> odd;
  hs.clear();
  odd.clear();
  odd.reserve(headers.size());
  size_t total = 0;
  for (const auto& [name, value] : headers) {
    std::string_view n = name;
    bool plain = true;
    for (char c : n) plain = plain && !IsSpace(c);
    if (!plain) {
      odd.push_back(TrimAll(n));
      n = odd.back();
    }
    if (drop_unsignable_headers && IsUnsignableName(n)) continue;
    total += n.size() + value.size() + 2;
    hs.push_back(HeaderRef{n, value});
  }
  if (extra_host != nullptr) {
    hs.push_back(HeaderRef{"host", *extra_host});
    total += 6 + extra_host->size();
  }
  // Stable: values of one name stay in arrival order.
  if (hs.size() <= 32) {
    for (size_t i = 1; i < hs.size(); ++i) {
      HeaderRef x = hs[i];
      size_t j = i;
      for (; j > 0 && LessIgnoreCase(x.name, hs[j - 1].name); --j) hs[j] = hs[j - 1];
      hs[j] = x;
    }
  } else {
    std::stable_sort(hs.begin(), hs.end(), [](const HeaderRef& a, const HeaderRef& b) {
      return LessIgnoreCase(a.name, b.name);
    });
  }

  const std::string query = CanonicalQuery(wire_query, skip_query_key);
  std::string& cr = r.canonical_request;
  cr.reserve(method.size() + 3 * wire_path.size() + query.size() + 2 * total + payload_hash.size() +
             8);
  for (char c : method) cr.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  cr += '\n';
  AppendCanonicalUri(cr, wire_path, normalize, double_encode);
  cr += '\n';
  cr += query;
  cr += '\n';
  r.signed_headers.reserve(total);
  for (size_t i = 0; i < hs.size(); ++i) {
    const bool same =
        i > 0 && hs[i].name.size() == hs[i - 1].name.size() && IEquals(hs[i].name, hs[i - 1].name);
    if (same) {
      cr += ',';
    } else {
      if (i > 0) cr += '\n';
      AppendLower(cr, hs[i].name);
      cr += ':';
      if (!r.signed_headers.empty()) r.signed_headers += ';';
      AppendLower(r.signed_headers, hs[i].name);
    }
    AppendTrimmed(cr, hs[i].value);
  }
  if (!hs.empty()) cr += '\n';
  cr += '\n';
  cr += r.signed_headers;
  cr += '\n';
  cr += payload_hash;
  hs.clear();
  odd.clear();

  std::string& sts = r.string_to_sign;
  sts.reserve(17 + amz_date.size() + 1 + r.credential_scope.size() + 1 + 64);
  sts += "AWS4-HMAC-SHA256\n";
  sts += amz_date;
  sts += '\n';
  sts += r.credential_scope;
  sts += '\n';
  sts += Sha256Hex(cr);
  // The derived key depends only on (secret, day, region, service): each thread
  // keeps the last one (4 of the 5 HMACs per request saved).
  struct KeyCache {
    std::string secret, date, region, service, key;
  };
  thread_local KeyCache cache;
  const std::string_view date = std::string_view(amz_date).substr(0, 8);
  if (cache.key.empty() || cache.secret != secret_access_key || cache.date != date ||
      cache.region != region || cache.service != service) {
    cache.key = DeriveSigningKey(secret_access_key, date, region, service);
    cache.secret = secret_access_key;
    cache.date = date;
    cache.region = region;
    cache.service = service;
  }
  r.signature = HexEncode(HmacSha256(cache.key, sts));
  return r;
}

}  // namespace

SigningResult ComputeSignature(const CanonicalInput& in, std::string_view secret_access_key,
                               const std::string& region, const std::string& service,
                               const std::string& amz_date, bool normalize, bool double_encode,
                               std::string_view skip_query_key, bool drop_unsignable_headers) {
  return Compute(in.method, in.wire_path, in.wire_query, in.headers, nullptr, in.payload_hash,
                 secret_access_key, region, service, amz_date, normalize, double_encode,
                 skip_query_key, drop_unsignable_headers);
}

bool SplitUrl(std::string_view url, std::string* host_header, std::string* wire_path,
              std::string* wire_query) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string scheme = AsciiLower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path_query =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string host = AsciiLower(authority);
  // Drop a default port (the port follows the last ':' after any IPv6 ']').
  size_t colon = host.rfind(':');
  size_t bracket = host.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    std::string port = host.substr(colon + 1);
    if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443") ||
        port.empty()) {
      host.resize(colon);
    }
  }
  size_t q = path_query.find('?');
  std::string_view path = path_query.substr(0, q);
  *host_header = host;
  *wire_path = path.empty() ? "/" : std::string(path);
  *wire_query = q == std::string_view::npos ? "" : std::string(path_query.substr(q + 1));
  return true;
}

Status SignRequest(HttpRequest& request, const Credentials& credentials,
                   const SigningParams& params, SigningResult* result) {
  std::string host, path, query;
  if (!SplitUrl(request.url, &host, &path, &query)) {
    return Status::InvalidArgument("cannot sign a request whose url has no scheme: " +
                                   request.url.substr(0, request.url.find('?')));
  }
  PG_ASSIGN_OR_RETURN(std::string payload_hash, PayloadHash(request, params, false));
  const std::string amz_date = FormatAmzDate(params.epoch_seconds);

  RemoveHeader(request.headers, "authorization");
  RemoveHeader(request.headers, "x-amz-date");
  request.headers.reserve(request.headers.size() + 4);
  request.headers.emplace_back("X-Amz-Date", amz_date);
  const bool token = !credentials.session_token.empty();
  if (token) {
    RemoveHeader(request.headers, "x-amz-security-token");
    if (params.sign_session_token) {
      request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
    }
  }
  if (params.s3_rules || params.sign_content_sha256 || params.unsigned_payload) {
    RemoveHeader(request.headers, "x-amz-content-sha256");
    request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  }

  SigningResult r = Compute(request.method, path, query, request.headers,
                            HasHeader(request.headers, "host") ? nullptr : &host, payload_hash,
                            credentials.secret_access_key, params.region, params.service, amz_date,
                            params.normalize_path, !params.s3_rules, {}, true);
  std::string auth;
  auth.reserve(40 + credentials.access_key_id.size() + r.credential_scope.size() +
               r.signed_headers.size() + r.signature.size());
  auth += "AWS4-HMAC-SHA256 Credential=";
  auth += credentials.access_key_id;
  auth += '/';
  auth += r.credential_scope;
  auth += ", SignedHeaders=";
  auth += r.signed_headers;
  auth += ", Signature=";
  auth += r.signature;
  request.headers.emplace_back("Authorization", std::move(auth));
  if (token && !params.sign_session_token) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  if (result) *result = std::move(r);
  return Status::Ok();
}

Status PresignRequest(HttpRequest& request, const Credentials& credentials,
                      const SigningParams& params, int64_t expires_seconds, SigningResult* result) {
  std::string host, path, query;
  if (!SplitUrl(request.url, &host, &path, &query)) {
    return Status::InvalidArgument("cannot presign a request whose url has no scheme: " +
                                   request.url.substr(0, request.url.find('?')));
  }
  PG_ASSIGN_OR_RETURN(std::string payload_hash, PayloadHash(request, params, true));
  const std::string amz_date = FormatAmzDate(params.epoch_seconds);
  RemoveHeader(request.headers, "authorization");

  CanonicalInput in;
  in.method = request.method;
  in.wire_path = path;
  in.headers = request.headers;
  if (!HasHeader(in.headers, "host")) in.headers.emplace_back("host", host);
  in.payload_hash = payload_hash;

  // The signed-header list is needed inside the query before signing.
  SigningResult probe = ComputeSignature(in, "", params.region, params.service, amz_date,
                                         params.normalize_path, !params.s3_rules);
  const bool token = !credentials.session_token.empty();
  std::string auth = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                     UriEncode(credentials.access_key_id + "/" + probe.credential_scope, false) +
                     "&X-Amz-Date=" + amz_date +
                     "&X-Amz-Expires=" + std::to_string(expires_seconds) +
                     "&X-Amz-SignedHeaders=" + UriEncode(probe.signed_headers, false);
  if (token && params.sign_session_token) {
    auth += "&X-Amz-Security-Token=" + UriEncode(credentials.session_token, false);
  }
  in.wire_query = query.empty() ? auth : query + "&" + auth;
  SigningResult r =
      ComputeSignature(in, credentials.secret_access_key, params.region, params.service, amz_date,
                       params.normalize_path, !params.s3_rules);
  std::string url = request.url.substr(0, request.url.find_first_of("?#"));
  url += "?" + in.wire_query;
  if (token && !params.sign_session_token) {
    url += "&X-Amz-Security-Token=" + UriEncode(credentials.session_token, false);
  }
  url += "&X-Amz-Signature=" + r.signature;
  request.url = std::move(url);
  if (result) *result = std::move(r);
  return Status::Ok();
}

}  // namespace parallelagram::aws
