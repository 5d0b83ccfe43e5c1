// Http1Client: a lean HTTP/1.1 keep-alive client for small in-memory requests,
// on the IoLoop's epoll set beside libcurl. It carries the Lambda Invoke
// path, the one request the driver makes thousands of times a second.
//
// Why not libcurl there: libcurl 7.88 (Debian 12) spends ~90k instructions and
// two poll() calls on every request before the first byte is sent (URL parsing,
// printf-formatted headers, a liveness check of the reused connection, a
// readiness check after sending); that capped a signed invoke at 0.36 of wrk's
// rate. Here a request costs one send() and, usually, one recv() on a reused
// connection. docs/architecture.md ("HTTP clients") has the numbers.
//
// What it does: http:// and https:// (OpenSSL; the server's certificate must
// verify against Options::ca_file, else $AWS_CA_BUNDLE, else OpenSSL's default
// CAs, and must name the host); a keep-alive connection pool per scheme, host
// and port, with an optional cap (requests beyond it queue); DNS lookups on a
// helper thread, cached for Options::dns_ttl_ms; TCP_NODELAY and keepalive
// probes; HttpRequest's whole-request and connect timeouts; responses parsed by
// Boost.Beast (sized, chunked or close-delimited bodies; 1xx skipped; HEAD). A
// request that fails on a reused connection before any byte of its response
// arrived (the server closed the idle connection) is sent again once, on a new
// connection, as libcurl does.
//
// What it does not do: proxies, request bodies from files, responses streamed
// to files. Those requests (and every request when a proxy variable such as
// https_proxy is set) go to the `fallback` client; with no fallback they fail
// with kInvalidArgument.
//
// Contract: as HttpClient::Send (done called once, on the loop thread, never
// inside Send; transport failures are kUnavailable/kTimeout naming the host,
// never a header value or the query). Loop thread only. The loop must outlive
// the client. Destroying the client abandons requests in flight (their done is
// never called) and waits for DNS lookups in progress to return.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http_client.h"
#include "http/io_loop.h"

namespace parallelagram {

class Http1Client : public HttpClient {
 public:
  struct Options {
    int max_connections_per_host = 0;  // 0: unlimited
    std::string ca_file;               // "": $AWS_CA_BUNDLE, else OpenSSL's defaults
    int64_t dns_ttl_ms = 60000;
  };
  Http1Client(IoLoop& loop, Options options, std::unique_ptr<HttpClient> fallback = nullptr);
  ~Http1Client() override;
  Http1Client(const Http1Client&) = delete;
  Http1Client& operator=(const Http1Client&) = delete;

  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override;

  // Connections opened so far (for tests of reuse).
  int64_t connections_opened() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The client for the Lambda Invoke path: an Http1Client with at most
// `max_host_connections` connections per host (0: unlimited) and a
// CurlHttpClient as its fallback.
std::unique_ptr<HttpClient> MakeInvokeHttpClient(IoLoop& loop, long max_host_connections);

}  // namespace parallelagram
