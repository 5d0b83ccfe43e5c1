#include "worker/s3_blobs.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "aws/sigv4.h"

namespace parallelagram {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr const char* kCaBundles[] = {
    "/etc/pki/tls/certs/ca-bundle.crt",    // Amazon Linux (Lambda's provided.al2023)
    "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct ParsedUrl {
  bool tls = false;
  std::string host;  // without port
  std::string port;
  std::string target;  // path and query
  std::string host_header;
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("S3 endpoint '" + url + "' must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  u.host_header = authority;
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = u.tls ? "443" : "80";
  }
  return u;
}

Result<std::pair<std::string, std::string>> SplitS3Uri(const std::string& uri) {
  if (uri.rfind("s3://", 0) != 0) {
    return Status::InvalidArgument("'" + uri + "' is not an s3:// URI");
  }
  size_t slash = uri.find('/', 5);
  if (slash == std::string::npos || slash == 5 || slash + 1 == uri.size()) {
    return Status::InvalidArgument("'" + uri + "' must be s3://BUCKET/KEY");
  }
  return std::make_pair(uri.substr(5, slash - 5), uri.substr(slash + 1));
}

bool VirtualHostable(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63 || bucket.find('.') != std::string::npos) {
    return false;
  }
  for (char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return bucket.front() != '-' && bucket.back() != '-';
}

// What one exchange gave: the status, and the body unless it went to a file.
struct S3Reply {
  unsigned status = 0;
  std::string body;
};

Status Classify(const S3Reply& r, const std::string& what, const std::string& uri) {
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  std::string detail;
  size_t a = r.body.find("<Code>");
  size_t b = r.body.find("</Code>");
  if (a != std::string::npos && b != std::string::npos && b > a) {
    detail = " " + r.body.substr(a + 6, b - a - 6);
  }
  std::string msg = what + " " + uri + ": HTTP " + std::to_string(r.status) + detail;
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status == 403 || r.status == 401) {
    return Status::PermissionDenied(msg + " (check the function role's access to the bucket)");
  }
  if (r.status >= 500) return Status::Unavailable(msg);
  return Status::InvalidArgument(msg);
}

template <typename Stream, typename Request>
Result<S3Reply> Exchange(Stream& stream, Request& req, const std::string& dest) {
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  S3Reply reply;
  if (!dest.empty()) {
    bhttp::response_parser<bhttp::file_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    parser.get().body().open(dest.c_str(), beast::file_mode::write, ec);
    if (ec) return Status::IoError("cannot write " + dest + ": " + ec.message());
    bhttp::read(stream, buf, parser);
    reply.status = parser.get().result_int();
    parser.get().body().close();
    if (reply.status < 200 || reply.status >= 300) {
      std::ifstream in(dest);
      std::getline(in, reply.body, '\0');
      reply.body.resize(std::min<size_t>(reply.body.size(), 4096));
    }
  } else {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 20);
    bhttp::read(stream, buf, parser);
    reply.status = parser.get().result_int();
    reply.body = parser.get().body();
  }
  return reply;
}

}  // namespace

S3BlobsConfig S3BlobsConfigFromEnvironment() {
  S3BlobsConfig c;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  if (!Env("AWS_REGION").empty()) c.region = Env("AWS_REGION");
  c.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty()) c.endpoint = Env("AWS_ENDPOINT_URL");
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  c.ca_file = Env("SSL_CERT_FILE");
  return c;
}

S3Blobs::S3Blobs(S3BlobsConfig config) : config_(std::move(config)) {}

Result<std::string> S3Blobs::UrlOf(const std::string& uri) const {
  PG_ASSIGN_OR_RETURN(auto bk, SplitS3Uri(uri));
  const auto& [bucket, key] = bk;
  const std::string path_key = aws::UriEncode(key, /*keep_slash=*/true);
  if (!config_.endpoint.empty()) {
    return config_.endpoint + "/" + aws::UriEncode(bucket, false) + "/" + path_key;
  }
  const std::string suffix =
      config_.region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
  if (VirtualHostable(bucket)) {
    return "https://" + bucket + ".s3." + config_.region + suffix + "/" + path_key;
  }
  return "https://s3." + config_.region + suffix + "/" + bucket + "/" + path_key;
}

namespace {

std::atomic<int64_t> g_put_requests{0};
std::atomic<int64_t> g_get_requests{0};

// Sends one signed request; the response body goes to `dest` when it is non-empty.
Result<S3Reply> SendSigned(const S3BlobsConfig& cfg, const std::string& method,
                           const std::string& uri, const std::string& url, std::string body,
                           const std::string& dest, const std::string& range = "") {
  if (cfg.access_key_id.empty() || cfg.secret_access_key.empty()) {
    return Status::PermissionDenied(
        "cannot reach " + uri +
        ": no AWS credentials in the worker's environment "
        "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): give the function a role");
  }
  (method == "GET" || method == "HEAD" ? g_get_requests : g_put_requests) += 1;
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = std::move(body);
  aws::Credentials creds{cfg.access_key_id, cfg.secret_access_key, cfg.session_token, 0, "env"};
  aws::SigningParams params;
  params.service = "s3";
  params.region = cfg.region;
  params.epoch_seconds = static_cast<int64_t>(std::time(nullptr));
  params.s3_rules = true;
  PG_RETURN_IF_ERROR(aws::SignRequest(req, creds, params));
  PG_ASSIGN_OR_RETURN(ParsedUrl u, ParseUrl(url));

  bhttp::request<bhttp::string_body> msg;
  msg.method_string(method);
  msg.target(u.target);
  msg.version(11);
  msg.set(bhttp::field::host, u.host_header);
  for (const auto& [k, v] : req.headers) msg.set(k, v);
  if (!range.empty()) msg.set(bhttp::field::range, range);  // unsigned, as the SDKs may
  msg.body() = std::move(req.body);
  msg.prepare_payload();
  msg.keep_alive(false);

  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(u.host, u.port);
    if (!u.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::minutes(5));
      stream.connect(endpoints);
      return Exchange(stream, msg, dest);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    std::string ca = cfg.ca_file;
    for (const char* candidate : kCaBundles) {
      if (ca.empty() && access(candidate, R_OK) == 0) ca = candidate;
    }
    if (ca.empty()) {
      return Status::Unavailable("no CA certificates found (looked at " +
                                 std::string(kCaBundles[0]) + " and " + kCaBundles[1] +
                                 "); set SSL_CERT_FILE");
    }
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    ctx.set_verify_callback(asio::ssl::host_name_verification(u.host));
    asio::ssl::stream<beast::tcp_stream> stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str());
    beast::get_lowest_layer(stream).expires_after(std::chrono::minutes(5));
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(asio::ssl::stream_base::client);
    return Exchange(stream, msg, dest);
  } catch (const boost::system::system_error& e) {
    return Status::Unavailable(method + " " + uri + " (" + u.host_header +
                               ") failed: " + e.code().message());
  }
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

aws::S3RequestCounts S3BlobRequestsSent() { return {g_put_requests.load(), g_get_requests.load()}; }

Status S3Blobs::Fetch(const std::string& uri, const std::string& dest) {
  return GetInto(uri, dest, "");
}

Status S3Blobs::GetInto(const std::string& uri, const std::string& dest, const std::string& range) {
  PG_ASSIGN_OR_RETURN(std::string url, UrlOf(uri));
  const std::string tmp = dest + ".part-" + std::to_string(getpid());
  auto reply = SendSigned(config_, "GET", uri, url, "", tmp, range);
  Status s = reply.ok() ? Classify(*reply, "GET", uri) : reply.status();
  if (s.ok() && !range.empty() && reply->status != 206) {  // the whole object, not a part
    s = Status::InvalidArgument("GET " + uri + " " + range + ": HTTP " +
                                std::to_string(reply->status) + ", not a part");
  }
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dest, ec);
  if (ec) return Status::IoError("cannot write " + dest + ": " + ec.message());
  return Status::Ok();
}

Status S3Blobs::FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                           const std::string& dest) {
  if (length == 0) {  // S3 refuses an empty range
    std::ofstream empty(dest, std::ios::binary | std::ios::trunc);
    return empty ? Status::Ok() : Status::IoError("cannot write " + dest);
  }
  return GetInto(uri, dest,
                 "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1));
}

Status S3Blobs::Put(const std::string& src, const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string data, ReadWhole(src));
  return PutBytes(data, uri);
}

Status S3Blobs::PutBytes(std::string_view data, const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string url, UrlOf(uri));
  PG_ASSIGN_OR_RETURN(S3Reply reply, SendSigned(config_, "PUT", uri, url, std::string(data), ""));
  return Classify(reply, "PUT", uri);
}

}  // namespace parallelagram
