// TestHttpServer: a small HTTP/1.1 server on 127.0.0.1:0 for tests (Boost.Beast,
// its own thread). It is a real server: keep-alive, chunked and sized bodies,
// many concurrent connections. A handler decides each reply; the server counts
// accepted connections and requests so tests can check connection reuse.
//
// Thread-safety: the handler runs on the server's thread; the counters and
// port() may be read from any thread. Destruction stops the server and joins.
// Test-only (header-only, not part of the library).
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parallelagram::testing {

class TestHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;                                        // path and query, as sent
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
    uint64_t connection_id = 0;  // 1, 2, ...: which accepted connection carried it
    std::string Header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return "";
    }
  };
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int delay_ms = 0;   // answer after this long
    bool drop = false;  // close the connection without answering
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit TestHttpServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestHttpServer() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      io_.stop();
    });
    thread_.join();
  }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint64_t connections() const { return connections_.load(); }
  uint64_t requests() const { return requests_.load(); }
  // The most requests concurrently being handled (read, not yet answered).
  uint64_t max_concurrent() const { return max_concurrent_.load(); }

 private:
  using tcp = boost::asio::ip::tcp;

  struct Session : std::enable_shared_from_this<Session> {
    Session(TestHttpServer* s, tcp::socket sock, uint64_t id)
        : server(s), socket(std::move(sock)), timer(socket.get_executor()), id(id) {}
    TestHttpServer* server;
    tcp::socket socket;
    boost::asio::steady_timer timer;
    uint64_t id;
    boost::beast::flat_buffer buffer;
    std::unique_ptr<boost::beast::http::request_parser<boost::beast::http::string_body>> parser;
    boost::beast::http::response<boost::beast::http::string_body> response;

    void Read() {
      parser =
          std::make_unique<boost::beast::http::request_parser<boost::beast::http::string_body>>();
      parser->body_limit(512ull << 20);
      boost::beast::http::async_read(
          socket, buffer, *parser,
          [self = shared_from_this()](boost::system::error_code ec, size_t) {
            if (ec) return self->Close();
            self->OnRequest();
          });
    }
    void OnRequest() {
      auto& req = parser->get();
      Request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers.emplace_back(std::move(name), std::string(f.value()));
      }
      r.body = std::move(req.body());
      r.connection_id = id;
      bool keep_alive = req.keep_alive();
      unsigned version = req.version();
      server->requests_++;
      uint64_t now = ++server->in_flight_;
      uint64_t prev = server->max_concurrent_.load();
      while (now > prev && !server->max_concurrent_.compare_exchange_weak(prev, now)) {
      }
      Reply reply = server->handler_(r);
      response = {};
      response.version(version);
      response.result(static_cast<unsigned>(reply.status));
      for (const auto& [k, v] : reply.headers) response.set(k, v);
      response.body() = std::move(reply.body);
      response.keep_alive(keep_alive);
      response.prepare_payload();
      bool drop = reply.drop;
      timer.expires_after(std::chrono::milliseconds(reply.delay_ms));
      timer.async_wait([self = shared_from_this(), drop, keep_alive](boost::system::error_code) {
        self->server->in_flight_--;
        if (drop) return self->Close();
        boost::beast::http::async_write(self->socket, self->response,
                                        [self, keep_alive](boost::system::error_code ec, size_t) {
                                          if (ec || !keep_alive) return self->Close();
                                          self->Read();
                                        });
      });
    }
    void Close() {
      boost::system::error_code ec;
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    }
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket sock) {
      if (ec) return;
      uint64_t id = ++connections_;
      std::make_shared<Session>(this, std::move(sock), id)->Read();
      Accept();
    });
  }

  Handler handler_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> max_concurrent_{0};
};

}  // namespace parallelagram::testing
