#include "local/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <chrono>
#include <optional>

#include "common/clock.h"
#include "common/time_parse.h"

namespace parallelagram::local {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::weak_ptr<HttpServer> server, uint64_t body_limit)
      : socket_(std::move(socket)),
        server_(std::move(server)),
        body_limit_(body_limit),
        idle_timer_(socket_.get_executor()) {}
  ~HttpSession() {
    auto s = server_.lock();
    if (s && reserved_ > 0) s->ReleaseBody(reserved_);
    if (s) s->Forget(this);
  }

  void Read() {
    parser_.emplace();
    parser_->body_limit(body_limit_);
    parser_->header_limit(64 * 1024);
    ArmIdleTimer();
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Headers read: a large body is read only within the server's budget.
  void OnHeader(beast::error_code ec) {
    auto server = server_.lock();
    if (!server) return;
    if (!ec && !parser_->is_done()) {
      const auto& lim = server->limits();
      uint64_t declared = parser_->content_length().value_or(0);
      if (lim.large_body_budget > 0 && declared > lim.large_body_bytes && declared <= body_limit_) {
        if (!server->ReserveBody(declared)) {
          idle_timer_.cancel();
          HttpResponseMsg res{http::status::too_many_requests, 11};
          res.set(http::field::content_type, "application/json");
          res.body() =
              R"({"Type":"User","message":"Rate Exceeded: too many large request bodies at once; retry"})";
          res.set("x-amzn-ErrorType", "TooManyRequestsException");
          res.set("Retry-After", "1");
          Write(std::move(res), true);
          return;
        }
        reserved_ = declared;
      }
      http::async_read(
          socket_, buffer_, *parser_,
          [self = shared_from_this()](beast::error_code ec2, size_t) { self->OnRead(ec2); });
      return;
    }
    OnRead(ec);
  }

  void ArmIdleTimer() {
    auto server = server_.lock();
    if (!server || server->limits().idle_timeout_ms <= 0) return;
    idle_timer_.expires_after(std::chrono::milliseconds(server->limits().idle_timeout_ms));
    idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->Abandon();  // idle: the pending read fails
    });
  }

  void Write(HttpResponseMsg res, bool close_after) {
    res_ = std::make_shared<HttpResponseMsg>(std::move(res));
    if (close_after) res_->keep_alive(false);
    res_->prepare_payload();
    http::async_write(socket_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void Abandon() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void Close() {
    beast::error_code ec;
    socket_.close(ec);
  }

  bool PeerClosed() {
    if (!socket_.is_open()) return true;
    char c;
    ssize_t n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }

 private:
  void OnRead(beast::error_code ec) {
    idle_timer_.cancel();
    auto server = server_.lock();
    if (!server) return;
    if (reserved_ > 0) {  // the body is read (or failed): it is the handler's now
      server->ReleaseBody(reserved_);
      reserved_ = 0;
    }
    bool too_large = false;
    if (ec == http::error::body_limit) {
      too_large = true;
    } else if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != asio::error::eof) {
        // A malformed request: answer 400 and close.
        if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
          HttpResponseMsg res{http::status::bad_request, 11};
          res.set(http::field::content_type, "application/json");
          res.body() = R"({"Type":"User","message":"Malformed HTTP request"})";
          res.set("x-amzn-ErrorType", "InvalidRequestContentException");
          Write(std::move(res), true);
          return;
        }
      }
      Abandon();
      return;
    }
    HttpRequestMsg req = too_large ? HttpRequestMsg(parser_->get().base()) : parser_->release();
    if (too_large) req.keep_alive(false);
    keep_alive_ = req.keep_alive() && !too_large;
    auto ex = std::make_shared<HttpExchange>(shared_from_this(), std::move(req), too_large);
    server->handler()(std::move(ex));
  }

  void OnWrite(beast::error_code ec) {
    bool close = ec || !res_->keep_alive() || !keep_alive_;
    res_.reset();
    if (close) {
      Abandon();
      return;
    }
    Read();
  }

  tcp::socket socket_;
  std::weak_ptr<HttpServer> server_;
  uint64_t body_limit_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponseMsg> res_;
  bool keep_alive_ = true;
  boost::asio::steady_timer idle_timer_;
  uint64_t reserved_ = 0;  // of the server's large-body budget
};

HttpExchange::HttpExchange(std::shared_ptr<HttpSession> session, HttpRequestMsg request,
                           bool body_too_large)
    : session_(std::move(session)), request_(std::move(request)), body_too_large_(body_too_large) {}

HttpExchange::~HttpExchange() {
  if (!replied_ && session_) session_->Abandon();
}

bool HttpExchange::PeerClosed() const { return !replied_ && session_ && session_->PeerClosed(); }

void HttpExchange::Reply(HttpResponseMsg response) {
  if (replied_) return;
  replied_ = true;
  response.version(request_.version());
  // As AWS's endpoints do: clients learn their clock skew from it (aws::Signer).
  response.set(http::field::date, FormatHttpDate(SystemClock::Get().NowEpochMs()));
  if (!request_.keep_alive()) response.keep_alive(false);
  session_->Write(std::move(response), body_too_large_);
  session_.reset();
}

HttpServer::HttpServer(asio::io_context& io, uint64_t body_limit, Handler handler)
    : acceptor_(io), backoff_(io), body_limit_(body_limit), handler_(std::move(handler)) {}

bool HttpServer::ReserveBody(uint64_t n) {
  if (body_in_flight_ + n > limits_.large_body_budget) return false;
  body_in_flight_ += n;
  return true;
}

void HttpServer::Forget(HttpSession* s) {
  sessions_.erase(s);
  if (paused_ && !closed_ && sessions_.size() < limits_.max_connections) {
    paused_ = false;
    Accept();
  }
}

HttpServer::~HttpServer() { Close(); }

Result<std::shared_ptr<HttpServer>> HttpServer::Listen(asio::io_context& io,
                                                       const std::string& host, int port,
                                                       uint64_t body_limit, Handler handler) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return Status::InvalidArgument("'" + host +
                                   "' is not an IP address; give one such as 127.0.0.1");
  auto server = std::make_shared<HttpServer>(io, body_limit, std::move(handler));
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  server->acceptor_.open(ep.protocol(), ec);
  if (!ec) server->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) server->acceptor_.bind(ep, ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  }
  server->port_ = server->acceptor_.local_endpoint().port();
  server->Accept();
  return server;
}

void HttpServer::Accept() {
  acceptor_.async_accept([weak = weak_from_this()](beast::error_code ec, tcp::socket socket) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors (EMFILE/ENFILE) or memory: accepting again at once would spin
      // at 100% CPU until connections close. Back off, 10 ms doubling to 1 s.
      self->backoff_ms_ = std::min<int64_t>(1000, std::max<int64_t>(10, self->backoff_ms_ * 2));
      self->backoff_.expires_after(std::chrono::milliseconds(self->backoff_ms_));
      self->backoff_.async_wait([weak](beast::error_code ec2) {
        auto s = weak.lock();
        if (!ec2 && s && !s->closed_) s->Accept();
      });
      return;
    }
    self->backoff_ms_ = 0;
    socket.set_option(tcp::no_delay(true), ec);
    auto s = std::make_shared<HttpSession>(std::move(socket), weak, self->body_limit_);
    self->sessions_.insert(s.get());
    s->Read();
    if (self->limits_.max_connections > 0 &&
        self->sessions_.size() >= self->limits_.max_connections) {
      self->paused_ = true;  // Forget() resumes
      return;
    }
    self->Accept();
  });
}

void HttpServer::Close() {
  if (closed_) return;
  closed_ = true;
  backoff_.cancel();
  beast::error_code ec;
  acceptor_.close(ec);
  auto sessions = sessions_;
  for (HttpSession* s : sessions) s->Close();
}

HttpResponseMsg MakeResponse(const HttpRequestMsg& req, int status, std::string body,
                             const std::string& content_type) {
  HttpResponseMsg res{static_cast<http::status>(status), req.version()};
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

}  // namespace parallelagram::local
