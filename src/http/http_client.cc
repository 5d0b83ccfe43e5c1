#include "http/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

namespace parallelagram {
namespace {

constexpr size_t kMaxIdleHandles = 256;
// libcurl 7.88's EXPECT_100_THRESHOLD: larger in-memory bodies get "Expect: 100-continue".
constexpr size_t kExpectThreshold = 1024 * 1024;

// True when an environment variable libcurl reads for a proxy is set (see CURLOPT_PROXY).
bool ProxyFromEnvironment() {
  for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                           "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// "host" or "host:port" of a URL, for error messages (never path or query,
// which may hold a presigned signature).
std::string HostOf(const std::string& url) {
  std::string_view u = url;
  auto scheme = u.find("://");
  if (scheme != std::string_view::npos) u.remove_prefix(scheme + 3);
  auto end = u.find_first_of("/?#");
  if (end != std::string_view::npos) u = u.substr(0, end);
  auto at = u.rfind('@');  // drop any user:password@
  if (at != std::string_view::npos) u.remove_prefix(at + 1);
  return std::string(u);
}

}  // namespace

bool HeaderNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (HeaderNameEquals(k, name)) return v;
  }
  return "";
}

struct CurlHttpClient::Transfer {
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpRequest request;
  HttpResponse response;
  std::function<void(Result<HttpResponse>)> done;
  char errbuf[CURL_ERROR_SIZE] = {0};

  int upload_fd = -1;
  uint64_t upload_left = 0;

  FILE* out = nullptr;  // temporary for response_file
  std::string out_tmp;  // its path
  bool status_checked = false;
  bool to_file = false;  // decided at the first body byte: 2xx and response_file set
  Status local_error;    // a failure of ours (e.g. disk full) that aborts the transfer

  ~Transfer() {
    if (header_list) curl_slist_free_all(header_list);
    if (upload_fd >= 0) close(upload_fd);
    if (out) std::fclose(out);
    if (!out_tmp.empty()) std::remove(out_tmp.c_str());
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after 100 Continue or an informational one): start over.
      t->response.headers.clear();
      return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name(Trim(line.substr(0, colon)));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->response.headers.emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
    return size * n;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t len = size * n;
    if (!t->status_checked) {
      t->status_checked = true;
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      t->to_file = t->out != nullptr && code >= 200 && code < 300;
    }
    if (t->to_file) {
      if (std::fwrite(data, 1, len, t->out) != len) {
        t->local_error = Status::IoError("cannot write " + t->request.response_file + ": " +
                                         std::strerror(errno));
        return CURL_WRITEFUNC_ERROR;
      }
      return len;
    }
    t->response.body.append(data, len);
    return len;
  }

  static size_t OnRead(char* buf, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t want = std::min<uint64_t>(size * n, t->upload_left);
    if (want == 0) return 0;
    ssize_t got = read(t->upload_fd, buf, want);
    if (got < 0 && errno == EINTR) got = read(t->upload_fd, buf, want);
    if (got <= 0) {
      t->local_error = Status::IoError(
          "cannot read " + t->request.body_file +
          (got == 0 ? ": file shorter than expected" : std::string(": ") + std::strerror(errno)));
      return CURL_READFUNC_ABORT;
    }
    t->upload_left -= static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }

  // Opens the upload file and the response temporary. Returns non-OK on failure.
  Status OpenFiles() {
    if (!request.body_file.empty()) {
      upload_fd = open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (upload_fd < 0) {
        return Status::IoError("cannot open " + request.body_file + ": " + std::strerror(errno));
      }
      off_t size = lseek(upload_fd, 0, SEEK_END);
      if (size < 0 || static_cast<uint64_t>(size) < request.body_file_offset) {
        return Status::InvalidArgument("upload offset is past the end of " + request.body_file);
      }
      uint64_t avail = static_cast<uint64_t>(size) - request.body_file_offset;
      upload_left =
          request.body_file_length < 0 ? avail : static_cast<uint64_t>(request.body_file_length);
      if (upload_left > avail) {
        return Status::InvalidArgument("upload range is past the end of " + request.body_file);
      }
      if (lseek(upload_fd, static_cast<off_t>(request.body_file_offset), SEEK_SET) < 0) {
        return Status::IoError("cannot seek in " + request.body_file);
      }
    }
    if (!request.response_file.empty()) {
      std::string tmpl = request.response_file + ".tmp.XXXXXX";
      int fd = mkstemp(tmpl.data());
      if (fd < 0) {
        return Status::IoError("cannot create a temporary beside " + request.response_file + ": " +
                               std::strerror(errno));
      }
      out_tmp = tmpl;
      out = fdopen(fd, "wb");
      if (!out) {
        close(fd);
        return Status::IoError("cannot open " + out_tmp);
      }
    }
    return Status::Ok();
  }

  void Configure(bool proxy_from_env, const std::string& ca_bundle) {
    CURL* e = easy;
    curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, this);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (!ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_bundle.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
    if (request.tcp_keepalive) {
      curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
      curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 60L);
      curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 60L);
    }
    // Big buffers only for file transfers: a 128 KB buffer per request is at
    // malloc's mmap threshold and costs an mmap/munmap pair on every small call.
    if (!request.response_file.empty() || !request.body_file.empty()) {
      curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 128L * 1024);
    }

    // libcurl 7.88 formats every request header byte by byte through its printf engine
    // (~100 instructions a byte), so only what the request needs is sent: no "Accept: */*",
    // no Content-Type we did not ask for, and no "Expect: 100-continue" round trip (libcurl
    // adds one only to uploads from a file and to bodies over 1 MB: suppressed there only).
    bool has_content_type = false, has_accept = false;
    std::string line;
    for (const auto& [k, v] : request.headers) {
      if (HeaderNameEquals(k, "content-type")) has_content_type = true;
      if (HeaderNameEquals(k, "accept")) has_accept = true;
      line.assign(k);
      if (v.empty()) {
        line += ';';  // "Name;" sends an empty value
      } else {
        line += ": ";
        line += v;
      }
      header_list = curl_slist_append(header_list, line.c_str());
    }
    if (!has_accept) header_list = curl_slist_append(header_list, "Accept:");
    if (!request.body_file.empty() || request.body.size() > kExpectThreshold) {
      header_list = curl_slist_append(header_list, "Expect:");
    }
    if (!has_content_type) header_list = curl_slist_append(header_list, "Content-Type:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, header_list);
    if (!proxy_from_env) {
      // No proxy variable is set: tell libcurl, which would read ~8 of them per request.
      curl_easy_setopt(e, CURLOPT_PROXY, "");
      curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }

    const std::string& m = request.method;
    if (!request.body_file.empty()) {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &Transfer::OnRead);
      curl_easy_setopt(e, CURLOPT_READDATA, this);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload_left));
      if (m != "PUT") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (m == "GET" && request.body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (m == "DELETE" && request.body.empty()) {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    } else {
      // POST/PUT/anything with a body: Content-Length from the body (0 allowed).
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
      if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    }
  }
};

CurlHttpClient::CurlHttpClient(IoLoop& loop, Options options)
    : loop_(loop), options_(options), proxy_from_env_(ProxyFromEnvironment()) {
  if (const char* ca = std::getenv("AWS_CA_BUNDLE")) ca_bundle_ = ca;
  if (options_.max_host_connections > 0) {
    curl_multi_setopt(loop_.multi(), CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
  }
  if (options_.max_total_connections > 0) {
    curl_multi_setopt(loop_.multi(), CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      options_.max_total_connections);
  }
  if (options_.max_idle_connections > 0) {
    curl_multi_setopt(loop_.multi(), CURLMOPT_MAXCONNECTS, options_.max_idle_connections);
  }
}

CurlHttpClient::~CurlHttpClient() {
  for (Transfer* t : live_) {
    loop_.CancelTransfer(t->easy);
    curl_easy_cleanup(t->easy);
    delete t;
  }
  for (void* e : idle_handles_) curl_easy_cleanup(e);
}

void CurlHttpClient::Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  Status opened = t->OpenFiles();
  if (!opened.ok()) {
    loop_.AddTimer(0, [done = std::move(t->done), opened]() { done(opened); });
    return;
  }
  if (!idle_handles_.empty()) {
    t->easy = idle_handles_.back();
    idle_handles_.pop_back();
    curl_easy_reset(t->easy);
  } else {
    t->easy = curl_easy_init();
    if (t->easy == nullptr) {
      loop_.AddTimer(0, [done = std::move(t->done)]() {
        done(Status::Internal("libcurl could not create a transfer (out of memory?)"));
      });
      return;
    }
  }
  t->Configure(proxy_from_env_, ca_bundle_);
  Transfer* raw = t.release();
  live_.insert(raw);
  loop_.AddTransfer(raw->easy, [this, raw](int code) { Finish(raw, code); });
}

void CurlHttpClient::Finish(Transfer* raw, int curl_code) {
  std::unique_ptr<Transfer> t(raw);
  live_.erase(raw);
  auto code = static_cast<CURLcode>(curl_code);
  std::optional<Result<HttpResponse>> result;
  if (!t->local_error.ok()) {
    result.emplace(t->local_error);
  } else if (code != CURLE_OK) {
    std::string what =
        t->request.method + " " + HostOf(t->request.url) + " failed: " + curl_easy_strerror(code);
    if (t->errbuf[0] != '\0') what += std::string(" (") + t->errbuf + ")";
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
      what += "; for a private CA, point AWS_CA_BUNDLE at its PEM file";
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      result.emplace(Status::Timeout(what));
    } else {
      result.emplace(Status::Unavailable(what));
    }
  } else {
    HttpResponse& r = t->response;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &r.total_seconds);
    if (t->out != nullptr) {
      bool ok2xx = r.status >= 200 && r.status < 300;
      bool flushed = std::fclose(t->out) == 0;
      t->out = nullptr;
      if (ok2xx) {
        if (!flushed) {
          result.emplace(Status::IoError("cannot write " + t->request.response_file));
        } else if (std::rename(t->out_tmp.c_str(), t->request.response_file.c_str()) != 0) {
          result.emplace(Status::IoError("cannot rename a download to " + t->request.response_file +
                                         ": " + std::strerror(errno)));
        } else {
          t->out_tmp.clear();  // renamed: nothing to remove
        }
      }
    }
    if (!result) result.emplace(std::move(r));
  }
  CURL* easy = t->easy;
  t->easy = nullptr;
  auto done = std::move(t->done);
  t.reset();  // closes files, removes a leftover temporary
  if (idle_handles_.size() < kMaxIdleHandles) {
    idle_handles_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
  done(std::move(*result));
}

Result<HttpResponse> SendAndWait(IoLoop& loop, HttpClient& client, HttpRequest request) {
  std::optional<Result<HttpResponse>> out;
  client.Send(std::move(request), [&out](Result<HttpResponse> r) { out.emplace(std::move(r)); });
  while (!out) loop.RunOnce(1000);
  return std::move(*out);
}

}  // namespace parallelagram
