// Http1Client's own behaviour. The contract it shares with CurlHttpClient is
// tested against both in http_client_test.cc.
#include "http/http1_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "http/test_http_server.h"

namespace parallelagram {
namespace {

using testing::TestHttpServer;
namespace fs = std::filesystem;

// Serves scripted raw replies, one connection at a time: each request read
// (headers and a Content-Length body) gets the next step's bytes, and the
// connection is closed after a step that says so.
class RawServer {
 public:
  struct Step {
    std::string reply;
    bool close_after = false;
  };
  explicit RawServer(std::vector<Step> steps) : steps_(std::move(steps)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (pipe(stop_) != 0) std::abort();
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawServer() {
    [[maybe_unused]] auto r = write(stop_[1], "x", 1);
    thread_.join();
    close(listen_fd_);
    close(stop_[0]);
    close(stop_[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  // Waits for `fd` to be readable; false when asked to stop.
  bool WaitReadable(int fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    poll(p, 2, -1);
    return (p[1].revents & POLLIN) == 0;
  }
  void Serve() {
    size_t next = 0;
    while (WaitReadable(listen_fd_)) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::string buf;
      bool open = true;
      while (open) {
        size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos ||
               buf.size() < end + 4 + BodyLength(buf)) {
          char tmp[4096];
          if (!WaitReadable(fd)) {
            close(fd);
            return;
          }
          ssize_t n = recv(fd, tmp, sizeof tmp, 0);
          if (n <= 0) {
            open = false;
            break;
          }
          buf.append(tmp, static_cast<size_t>(n));
        }
        if (!open) break;
        buf.erase(0, buf.find("\r\n\r\n") + 4 + BodyLength(buf));
        if (next >= steps_.size()) break;
        const Step& s = steps_[next++];
        [[maybe_unused]] auto w = send(fd, s.reply.data(), s.reply.size(), MSG_NOSIGNAL);
        if (s.close_after) break;
      }
      close(fd);
    }
  }
  static size_t BodyLength(const std::string& head) {
    auto p = head.find("Content-Length: ");
    if (p == std::string::npos) return 0;
    return static_cast<size_t>(std::atol(head.c_str() + p + 16));
  }

  std::vector<Step> steps_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// An HttpClient that records what reaches it and answers 299.
class RecordingClient : public HttpClient {
 public:
  explicit RecordingClient(IoLoop& loop, std::vector<std::string>* seen)
      : loop_(loop), seen_(seen) {}
  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override {
    seen_->push_back(request.url);
    loop_.AddTimer(0, [done = std::move(done)]() {
      HttpResponse r;
      r.status = 299;
      done(std::move(r));
    });
  }

 private:
  IoLoop& loop_;
  std::vector<std::string>* seen_;
};

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  return r;
}

TEST(Http1ClientTest, BodiesSizedChunkedCloseDelimitedAndAfter100Continue) {
  RawServer server({
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
  });
  IoLoop loop;
  Http1Client client(loop, {});
  auto r = SendAndWait(loop, client, Get(server.url() + "/1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("x-a"), "1");
  r = SendAndWait(loop, client, Get(server.url() + "/2"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "ok");
  r = SendAndWait(loop, client, Get(server.url() + "/3"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "until the end");
  EXPECT_EQ(server.connections(), 1);  // the first three shared one connection
  r = SendAndWait(loop, client, Get(server.url() + "/4"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("before the response was complete"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(loop.active_transfers(), 0);
}

// The server closes each connection after answering, without saying so: the
// next request goes out on a dead connection and must be sent again on a new
// one, once, without the caller seeing a failure.
TEST(Http1ClientTest, ARequestOnAConnectionTheServerClosedIsSentAgainOnce) {
  std::vector<RawServer::Step> steps;
  for (int i = 0; i < 4; ++i) {
    steps.push_back({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + std::to_string(i), true});
  }
  RawServer server(steps);
  IoLoop loop;
  Http1Client client(loop, {});
  for (int i = 0; i < 4; ++i) {
    auto r = SendAndWait(loop, client, Get(server.url() + "/x"));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->body, std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 4);
  EXPECT_EQ(client.connections_opened(), 4);
}

TEST(Http1ClientTest, AtTheConnectionCapRequestsQueueAndCanTimeOutThere) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep;
    rep.body = r.target;
    rep.delay_ms = 100;
    return rep;
  });
  IoLoop loop;
  Http1Client::Options o;
  o.max_connections_per_host = 3;
  Http1Client client(loop, o);
  int ok = 0;
  for (int i = 0; i < 12; ++i) {
    client.Send(Get(server.url() + "/q" + std::to_string(i)), [&, i](Result<HttpResponse> r) {
      ok += r.ok() && r->body == "/q" + std::to_string(i);
    });
  }
  loop.Run();
  EXPECT_EQ(ok, 12);
  EXPECT_EQ(server.connections(), 3u);
  EXPECT_LE(server.max_concurrent(), 3u);

  // Three held, a fourth waits for a connection and times out waiting.
  std::optional<Result<HttpResponse>> queued;
  for (int i = 0; i < 3; ++i) client.Send(Get(server.url() + "/h"), [](Result<HttpResponse>) {});
  HttpRequest late = Get(server.url() + "/late");
  late.timeout_ms = 30;
  client.Send(late, [&](Result<HttpResponse> r) { queued.emplace(std::move(r)); });
  loop.Run();
  ASSERT_TRUE(queued.has_value());
  ASSERT_FALSE(queued->ok());
  EXPECT_EQ(queued->status().code(), StatusCode::kTimeout);
}

TEST(Http1ClientTest, HostNamesAreResolvedOffTheLoopThread) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep;
    rep.body = r.Header("host");
    return rep;
  });
  IoLoop loop;
  Http1Client client(loop, {});
  const std::string url = "http://LocalHost:" + std::to_string(server.port()) + "/n";
  auto r = SendAndWait(loop, client, Get(url));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The Host header is the one SigV4 signs: lower case, port kept when not the default.
  EXPECT_EQ(r->body, "localhost:" + std::to_string(server.port()));
}

TEST(Http1ClientTest, FilesAndProxiesGoToTheFallbackOrAreRefused) {
  IoLoop loop;
  std::vector<std::string> seen;
  {
    Http1Client client(loop, {}, std::make_unique<RecordingClient>(loop, &seen));
    HttpRequest to_file = Get("http://127.0.0.1:9/a");
    to_file.response_file = "/tmp/x";
    auto r = SendAndWait(loop, client, to_file);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 299);
    HttpRequest from_file = Get("http://127.0.0.1:9/b");
    from_file.body_file = "/tmp/y";
    ASSERT_TRUE(SendAndWait(loop, client, from_file).ok());
    ASSERT_TRUE(SendAndWait(loop, client, Get("ftp://127.0.0.1/c")).ok());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"http://127.0.0.1:9/a", "http://127.0.0.1:9/b",
                                            "ftp://127.0.0.1/c"}));
  {
    setenv("https_proxy", "http://proxy.example:3128", 1);
    Http1Client client(loop, {}, std::make_unique<RecordingClient>(loop, &seen));
    unsetenv("https_proxy");
    ASSERT_TRUE(SendAndWait(loop, client, Get("https://lambda.example/d")).ok());
    EXPECT_EQ(seen.back(), "https://lambda.example/d");
  }
  Http1Client bare(loop, {});
  HttpRequest to_file = Get("http://127.0.0.1:9/a");
  to_file.response_file = "/tmp/x";
  auto r = SendAndWait(loop, bare, to_file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(Http1ClientTest, HeaderValuesWithLineBreaksAreRefused) {
  IoLoop loop;
  Http1Client client(loop, {});
  HttpRequest r = Get("http://127.0.0.1:9/a");
  r.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  auto res = SendAndWait(loop, client, r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
}

// ---- TLS ------------------------------------------------------------------

// A self-signed certificate for DNS:localhost only, made with the openssl CLI.
struct TestCert {
  fs::path dir, cert, key;
  TestCert() {
    dir = fs::temp_directory_path() / ("pg_http1_tls_" + std::to_string(getpid()));
    fs::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost"
        " -keyout " +
        key.string() + " -out " + cert.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  ~TestCert() { fs::remove_all(dir); }
};

// HTTP/1.1 over TLS with Boost.Asio's OpenSSL stream: a thread per connection,
// keep-alive, each reply "tls <target>".
class TlsServer {
 public:
  explicit TlsServer(const TestCert& c)
      : ctx_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    ctx_.use_certificate_chain_file(c.cert.string());
    ctx_.use_private_key_file(c.key.string(), boost::asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TlsServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept()
    thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : sessions_) t.join();
  }
  int port() const { return port_; }

 private:
  void AcceptLoop() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec) return;
      std::lock_guard<std::mutex> lock(mu_);
      sessions_.emplace_back([this, s = std::move(sock)]() mutable { Session(std::move(s)); });
    }
  }
  void Session(boost::asio::ip::tcp::socket sock) {
    namespace http = boost::beast::http;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> s(std::move(sock), ctx_);
    boost::system::error_code ec;
    s.handshake(boost::asio::ssl::stream_base::server, ec);
    if (ec) return;
    boost::beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) return;
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "tls " + std::string(req.target());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec) return;
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> sessions_;
};

TEST(Http1ClientTest, TlsVerifiesTheServerAndReusesTheConnection) {
  TestCert cert;
  TlsServer server(cert);
  const std::string base = "https://localhost:" + std::to_string(server.port());
  IoLoop loop;
  {
    Http1Client::Options o;
    o.ca_file = cert.cert.string();
    Http1Client client(loop, o);
    for (int i = 0; i < 3; ++i) {
      auto r = SendAndWait(loop, client, Get(base + "/t" + std::to_string(i)));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->body, "tls /t" + std::to_string(i));
    }
    EXPECT_EQ(client.connections_opened(), 1);
    // The certificate names localhost, not 127.0.0.1.
    auto r = SendAndWait(loop, client, Get("https://127.0.0.1:" + std::to_string(server.port())));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
        << r.status().message();
  }
  {
    // Not trusted by OpenSSL's default CAs.
    unsetenv("AWS_CA_BUNDLE");
    Http1Client client(loop, {});
    auto r = SendAndWait(loop, client, Get(base + "/u"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("localhost"), std::string::npos) << r.status().message();
  }
  {
    // AWS_CA_BUNDLE, as the AWS SDKs read it.
    setenv("AWS_CA_BUNDLE", cert.cert.c_str(), 1);
    Http1Client client(loop, {});
    unsetenv("AWS_CA_BUNDLE");
    auto r = SendAndWait(loop, client, Get(base + "/v"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "tls /v");
  }
}

}  // namespace
}  // namespace parallelagram
