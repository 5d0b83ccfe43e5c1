// HttpServer: a small HTTP/1.1 server on Boost.Beast for the local Lambda service, used both
// for the Lambda API and for each execution environment's Runtime API.
//
// One request is read at a time per connection; each becomes an HttpExchange handed to
// the handler, which answers it with Reply() now or later (a parked GET /next, a sync
// invoke waiting for its function). Connections are kept alive between requests.
//
// Every answer carries a Date header, as AWS's endpoints send (clients learn their clock skew
// from it).
//
// Thread-safety: none; everything (Listen, Close, handlers, Reply) runs on the thread of the
// io_context. Ownership: sessions own themselves (shared_from_this); an exchange keeps its
// session alive until replied or dropped. Dropping an exchange unanswered closes its
// connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::local {

using HttpRequestMsg = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponseMsg = boost::beast::http::response<boost::beast::http::string_body>;

class HttpSession;

class HttpExchange {
 public:
  HttpExchange(std::shared_ptr<HttpSession> session, HttpRequestMsg request, bool body_too_large);
  ~HttpExchange();  // closes the connection if never replied
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  const HttpRequestMsg& request() const { return request_; }
  HttpRequestMsg& request() { return request_; }
  // The body exceeded the server's limit: only the headers were read; the connection is
  // closed after the reply.
  bool body_too_large() const { return body_too_large_; }
  // Sends the response (Content-Length set here). Only the first call has an effect.
  void Reply(HttpResponseMsg response);
  bool replied() const { return replied_; }
  // The client closed its connection (or it broke) while this exchange waits for its reply.
  // A cheap non-blocking peek; false once replied.
  bool PeerClosed() const;

 private:
  std::shared_ptr<HttpSession> session_;
  HttpRequestMsg request_;
  bool body_too_large_;
  bool replied_ = false;
};

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  using Handler = std::function<void(std::shared_ptr<HttpExchange>)>;

  // Binds host:port (0 = ephemeral) and starts accepting. Errors: InvalidArgument (host is
  // not an IP address), IoError (bind/listen failed).
  static Result<std::shared_ptr<HttpServer>> Listen(boost::asio::io_context& io,
                                                    const std::string& host, int port,
                                                    uint64_t body_limit, Handler handler);
  ~HttpServer();
  // Limits against careless or hostile clients. The Lambda API sets them; each Runtime API
  // listener caps its connections at a few and closes one idle for longer than an
  // invocation may last (a runtime's connection idles while its function runs).
  struct Limits {
    size_t max_connections = 0;   // 0: no cap; at the cap, accepting pauses until one closes
    int64_t idle_timeout_ms = 0;  // 0: none; a connection waiting this long for (the rest
                                  // of) a request is closed
    // Bodies over `large_body_bytes` are read only while the bodies being read add up to at
    // most `large_body_budget`; past it the request is answered 429 (TooManyRequests-
    // Exception, Retry-After) before its body is read. 0: no budget.
    uint64_t large_body_bytes = 0;
    uint64_t large_body_budget = 0;
  };
  void set_limits(const Limits& limits) { limits_ = limits; }
  const Limits& limits() const { return limits_; }
  // Large-body budget bookkeeping, for sessions: true when `n` bytes were reserved.
  bool ReserveBody(uint64_t n);
  void ReleaseBody(uint64_t n) { body_in_flight_ -= n; }
  size_t connections() const { return sessions_.size(); }
  int port() const { return port_; }
  // Stops accepting and closes every connection. Idempotent.
  void Close();

  // For sessions.
  const Handler& handler() const { return handler_; }
  uint64_t body_limit() const { return body_limit_; }
  void Forget(HttpSession* s);

  HttpServer(boost::asio::io_context& io, uint64_t body_limit, Handler handler);

 private:
  void Accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;  // accept failed (out of descriptors): retry later
  int64_t backoff_ms_ = 0;
  bool paused_ = false;  // at limits_.max_connections
  Limits limits_;
  uint64_t body_in_flight_ = 0;
  uint64_t body_limit_;
  Handler handler_;
  int port_ = 0;
  bool closed_ = false;
  std::set<HttpSession*> sessions_;
};

// Helpers for handlers.
HttpResponseMsg MakeResponse(const HttpRequestMsg& req, int status, std::string body,
                             const std::string& content_type = "application/json");

}  // namespace parallelagram::local
