#include "http/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "http/http1_client.h"
#include "http/test_http_server.h"

namespace parallelagram {
namespace {

using testing::TestHttpServer;
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path TempDir() {
  fs::path d =
      fs::temp_directory_path() / ("pg_http_test_" + std::to_string(getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Echoes what it received, as headers, so tests see what went on the wire.
TestHttpServer::Reply Echo(const TestHttpServer::Request& r) {
  TestHttpServer::Reply rep;
  rep.headers = {{"X-Method", r.method},
                 {"X-Target", r.target},
                 {"X-Body-Sha256", Sha256Hex(r.body)},
                 {"X-Content-Length", r.Header("content-length")},
                 {"X-Content-Type", r.Header("content-type")},
                 {"X-Custom", r.Header("x-custom")},
                 {"X-Expect", r.Header("expect")},
                 {"X-Connection-Id", std::to_string(r.connection_id)}};
  rep.body = "hello " + r.target;
  return rep;
}

// The contract every HttpClient keeps, run against both implementations: libcurl's
// (everything but the invoke path) and Http1Client (the invoke path).
struct CurlFactory {
  static constexpr const char* kName = "Curl";
  static std::unique_ptr<HttpClient> Make(IoLoop& loop) {
    return std::make_unique<CurlHttpClient>(loop);
  }
};
struct Http1Factory {
  static constexpr const char* kName = "Http1";
  static std::unique_ptr<HttpClient> Make(IoLoop& loop) {
    return std::make_unique<Http1Client>(loop, Http1Client::Options{});
  }
};
template <class Factory>
class HttpClientContractTest : public ::testing::Test {};
using Factories = ::testing::Types<CurlFactory, Http1Factory>;
struct FactoryName {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(HttpClientContractTest, Factories, FactoryName);

TYPED_TEST(HttpClientContractTest, GetReturnsStatusLowerCasedHeadersAndBody) {
  TestHttpServer server(Echo);
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  HttpRequest req;
  req.url = server.url() + "/a/b?x=1";
  req.headers = {{"X-Custom", "v1"}};
  auto r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /a/b?x=1");
  EXPECT_EQ(r->Header("x-method"), "GET");
  EXPECT_EQ(r->Header("X-CUSTOM"), "v1");
  bool saw_lower = false;
  for (const auto& [k, v] : r->headers) {
    for (char c : k) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << k;
    if (k == "x-target") saw_lower = true;
  }
  EXPECT_TRUE(saw_lower);
}

TYPED_TEST(HttpClientContractTest, MethodsAndBodiesGoOnTheWireExactly) {
  TestHttpServer server(Echo);
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  std::string big(200000, 'z');  // large enough that curl would normally send Expect
  for (std::string method : {"POST", "PUT", "PATCH", "DELETE"}) {
    HttpRequest req;
    req.method = method;
    req.url = server.url() + "/m";
    req.body = big;
    auto r = SendAndWait(loop, client, req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->Header("x-method"), method);
    EXPECT_EQ(r->Header("x-body-sha256"), Sha256Hex(big));
    EXPECT_EQ(r->Header("x-content-length"), std::to_string(big.size()));
    EXPECT_EQ(r->Header("x-content-type"), "");  // none invented
    EXPECT_EQ(r->Header("x-expect"), "");
  }
  HttpRequest empty_post;
  empty_post.method = "POST";
  empty_post.url = server.url() + "/e";
  auto r = SendAndWait(loop, client, empty_post);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Header("x-content-length"), "0");

  HttpRequest head;
  head.method = "HEAD";
  head.url = server.url() + "/h";
  r = SendAndWait(loop, client, head);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Header("x-method"), "HEAD");
  EXPECT_EQ(r->body, "");
}

TYPED_TEST(HttpClientContractTest, SequentialRequestsReuseOneConnection) {
  TestHttpServer server(Echo);
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  for (int i = 0; i < 50; ++i) {
    HttpRequest req;
    req.url = server.url() + "/r" + std::to_string(i);
    auto r = SendAndWait(loop, client, req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(server.requests(), 50u);
  EXPECT_EQ(server.connections(), 1u);
}

// libcurl's default cache (4 x the transfers added at that moment) would close
// most connections once the burst drains; the next burst must reuse them.
TYPED_TEST(HttpClientContractTest, ConnectionsSurviveWhenConcurrencyDrops) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep = Echo(r);
    rep.delay_ms = 100;  // hold them so the burst really is concurrent
    return rep;
  });
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  for (int burst = 0; burst < 3; ++burst) {
    int ok = 0;
    for (int i = 0; i < 16; ++i) {
      HttpRequest req;
      req.url = server.url() + "/b";
      client.Send(req, [&](Result<HttpResponse> r) { ok += r.ok() ? 1 : 0; });
    }
    loop.Run();
    EXPECT_EQ(ok, 16);
  }
  EXPECT_EQ(server.requests(), 48u);
  EXPECT_EQ(server.connections(), 16u);
}

TYPED_TEST(HttpClientContractTest, ThousandsOfRequestsInFlightOnOneLoop) {
  RaiseFileDescriptorLimit();
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep = Echo(r);
    rep.delay_ms = 1500;  // every request is held: all must be in flight at once
    return rep;
  });
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  constexpr int kN = 2000;
  int ok = 0, failed = 0, max_active = 0;
  for (int i = 0; i < kN; ++i) {
    HttpRequest req;
    req.url = server.url() + "/n" + std::to_string(i);
    req.timeout_ms = 60000;
    client.Send(req, [&, i](Result<HttpResponse> r) {
      if (r.ok() && r->body == "hello /n" + std::to_string(i)) {
        ++ok;
      } else {
        ++failed;
        if (!r.ok()) ADD_FAILURE() << r.status().ToString();
      }
    });
  }
  max_active = loop.active_transfers();
  auto start = std::chrono::steady_clock::now();
  loop.Run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ok, kN);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(max_active, kN);
  EXPECT_GE(server.max_concurrent(), 1000u);
  // Held 1.5 s each; done serially that would be 50 minutes.
  EXPECT_LT(secs, 30.0);
  EXPECT_EQ(loop.active_transfers(), 0);
}

TYPED_TEST(HttpClientContractTest, TimeoutIsKTimeoutNamingTheHostNotHeaders) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep = Echo(r);
    rep.delay_ms = 3000;
    return rep;
  });
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  HttpRequest req;
  req.url = server.url() + "/slow?X-Amz-Signature=presignedsecret";
  req.headers = {{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRET/x"}};
  req.timeout_ms = 200;
  auto start = std::chrono::steady_clock::now();
  auto r = SendAndWait(loop, client, req);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_NE(r.status().message().find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("AKIDSECRET"), std::string::npos);
  EXPECT_EQ(r.status().message().find("presignedsecret"), std::string::npos);
  EXPECT_LT(secs, 2.5);
}

TYPED_TEST(HttpClientContractTest, ConnectionRefusedIsUnavailableNamingTheHost) {
  // Find a port nobody listens on: bind, learn it, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);

  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  req.headers = {{"X-Amz-Security-Token", "TOKENSECRET"}};
  auto r = SendAndWait(loop, client, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("TOKENSECRET"), std::string::npos);
}

TYPED_TEST(HttpClientContractTest, ServerClosingWithoutAnswerIsUnavailable) {
  TestHttpServer server([](const TestHttpServer::Request&) {
    TestHttpServer::Reply rep;
    rep.drop = true;
    return rep;
  });
  IoLoop loop;
  auto owned = TypeParam::Make(loop);
  HttpClient& client = *owned;
  HttpRequest req;
  req.url = server.url() + "/drop";
  auto r = SendAndWait(loop, client, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(CurlHttpClientTest, UploadsAFileRange) {
  fs::path dir = TempDir();
  std::string content;
  for (int i = 0; i < 300000; ++i) content.push_back(static_cast<char>('a' + i % 26));
  { std::ofstream(dir / "up.bin", std::ios::binary) << content; }
  TestHttpServer server(Echo);
  IoLoop loop;
  CurlHttpClient client(loop);
  HttpRequest req;
  req.method = "PUT";
  req.url = server.url() + "/up";
  req.body_file = (dir / "up.bin").string();
  req.body_file_offset = 1000;
  req.body_file_length = 200000;
  auto r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Header("x-method"), "PUT");
  EXPECT_EQ(r->Header("x-content-length"), "200000");
  EXPECT_EQ(r->Header("x-body-sha256"), Sha256Hex(content.substr(1000, 200000)));
  EXPECT_EQ(r->Header("x-expect"), "");

  req.method = "POST";
  req.body_file_offset = 0;
  req.body_file_length = -1;  // whole file
  r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Header("x-method"), "POST");
  EXPECT_EQ(r->Header("x-body-sha256"), Sha256Hex(content));

  req.body_file_offset = 299999;
  req.body_file_length = 2;  // past the end
  r = SendAndWait(loop, client, req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  req.body_file = (dir / "missing.bin").string();
  bool called_inside = true;
  bool done = false;
  client.Send(req, [&](Result<HttpResponse> rr) {
    EXPECT_EQ(rr.status().code(), StatusCode::kIoError);
    done = true;
  });
  called_inside = done;
  while (!done) loop.RunOnce(100);
  EXPECT_FALSE(called_inside);
  fs::remove_all(dir);
}

TEST(CurlHttpClientTest, DownloadsToAFileOnlyOn2xx) {
  fs::path dir = TempDir();
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 % 251);
  TestHttpServer server([&](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep;
    if (r.target == "/ok") {
      rep.body = payload;
    } else {
      rep.status = 404;
      rep.body = "<Error><Code>NoSuchKey</Code></Error>";
    }
    return rep;
  });
  IoLoop loop;
  CurlHttpClient client(loop);
  HttpRequest req;
  req.url = server.url() + "/ok";
  req.response_file = (dir / "out.bin").string();
  auto r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(ReadFile(dir / "out.bin"), payload);

  req.url = server.url() + "/missing";
  req.response_file = (dir / "missing.bin").string();
  r = SendAndWait(loop, client, req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "<Error><Code>NoSuchKey</Code></Error>");  // the error body is kept
  EXPECT_FALSE(fs::exists(dir / "missing.bin"));
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);  // out.bin only: no temporaries left
  fs::remove_all(dir);
}

TEST(CurlHttpClientTest, DestroyingTheClientAbandonsTransfersInFlight) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep = Echo(r);
    rep.delay_ms = 2000;
    return rep;
  });
  IoLoop loop;
  bool called = false;
  {
    CurlHttpClient client(loop);
    HttpRequest req;
    req.url = server.url() + "/x";
    client.Send(req, [&](Result<HttpResponse>) { called = true; });
    for (int i = 0; i < 5; ++i) loop.RunOnce(20);
  }
  EXPECT_EQ(loop.active_transfers(), 0);
  loop.Run();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace parallelagram
