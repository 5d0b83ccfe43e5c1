// HttpClient: asynchronous HTTP/1.1 on libcurl's multi interface, driven by an
// IoLoop. Thousands of requests can be in flight; connections are reused.
//
// Contract of Send(): `done` is called exactly once, on the loop thread, never
// from inside Send(). A transport failure (connection refused, reset, timeout,
// DNS) gives a non-OK Status (kUnavailable or kTimeout) naming the URL's host
// but never a header value; any HTTP status, including 4xx/5xx, is an OK
// Result holding the response. Retries are not done here (see aws/retry.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "http/io_loop.h"
#include "parallelagram/status.h"

namespace parallelagram {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;               // sent as-is (Content-Length set from it)
  std::string body_file;          // if set: upload this file's bytes instead of `body`
  uint64_t body_file_offset = 0;  //   starting here
  int64_t body_file_length = -1;  //   this many bytes (-1: to the end)
  std::string response_file;      // if set: stream the response body here (written whole
                                  // to a temporary, renamed on 2xx; removed otherwise)
  int64_t timeout_ms = 0;         // whole-transfer timeout; 0 = none
  int64_t connect_timeout_ms = 10000;
  bool tcp_keepalive = true;  // probes every 60 s: long sync invokes survive NATs
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  std::string body;     // empty when streamed to response_file
  double total_seconds = 0;

  // First value of header `name` (case-insensitive), or "" if absent.
  std::string Header(std::string_view name) const;
};

// True when two header names are equal ignoring ASCII case.
bool HeaderNameEquals(std::string_view a, std::string_view b);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) = 0;
};

// The real implementation. Borrows `loop`, which must outlive it.
// Send() must be called on the loop's thread. Requests still in flight when
// the client is destroyed are abandoned: their `done` is never called.
// Connections are kept alive and reused through the loop's multi handle.
// Proxies: libcurl's environment variables (https_proxy, ..., no_proxy) are honoured; they
// are looked up once, when the client is made. TLS: servers are verified against
// $AWS_CA_BUNDLE when it is set (as the AWS SDKs do), else libcurl's CA bundle.
class CurlHttpClient : public HttpClient {
 public:
  struct Options {
    long max_host_connections = 0;  // 0: unlimited (set on the loop's multi handle)
    long max_total_connections = 0;
    // Connection cache size (CURLMOPT_MAXCONNECTS; it counts connections in use too).
    // libcurl's default, 4 x the transfers added *at that moment*, closes most
    // connections whenever the number in flight drops, so ours is large: keep it
    // above the concurrency you want connections reused at.
    long max_idle_connections = 10000;
  };
  explicit CurlHttpClient(IoLoop& loop) : CurlHttpClient(loop, Options{}) {}
  CurlHttpClient(IoLoop& loop, Options options);
  ~CurlHttpClient() override;
  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override;

  struct Transfer;

 private:
  void Finish(Transfer* t, int curl_code);

  IoLoop& loop_;
  Options options_;
  bool proxy_from_env_;                 // a proxy variable was set when we were made
  std::string ca_bundle_;               // $AWS_CA_BUNDLE when we were made ("" if unset)
  std::vector<void*> idle_handles_;     // CURL* easy handles kept for reuse
  std::unordered_set<Transfer*> live_;  // transfers in flight (owned)
};

// Convenience for tools and tests: sends one request and runs `loop` until it
// completes. Must not be called from inside a loop callback.
Result<HttpResponse> SendAndWait(IoLoop& loop, HttpClient& client, HttpRequest request);

}  // namespace parallelagram
