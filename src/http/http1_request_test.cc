#include "http/http1_request.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace parallelagram {
namespace {

TEST(Http1RequestTest, ParsesHttpsUrlWithDefaultPortQueryAndFragment) {
  std::optional<Http1Url> u = ParseHttp1Url("HTTPS://Lambda.Example.COM/2015-03-31/f?q=1#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "lambda.example.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->host_header, "lambda.example.com");
  EXPECT_EQ(u->target, "/2015-03-31/f?q=1");
}

TEST(Http1RequestTest, ParsesPortsAndTargets) {
  std::optional<Http1Url> u = ParseHttp1Url("http://127.0.0.1:8080");
  ASSERT_TRUE(u.has_value());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->host_header, "127.0.0.1:8080");
  EXPECT_EQ(u->target, "/");

  u = ParseHttp1Url("http://h:80/x");  // the default port is left out of Host
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->host_header, "h");

  u = ParseHttp1Url("http://h?a=b");  // a query without a path
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->target, "/?a=b");
}

TEST(Http1RequestTest, ParsesBracketedIpv6Hosts) {
  std::optional<Http1Url> u = ParseHttp1Url("http://[::1]:9000/a");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->host_header, "[::1]:9000");

  u = ParseHttp1Url("https://[FE80::1]/");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "fe80::1");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->host_header, "[fe80::1]");
}

TEST(Http1RequestTest, RejectsUrlsItDoesNotHandle) {
  for (const char* url : {"ftp://h/", "h/path", "http:///path", "http://user@h/", "http://[::1/",
                          "http://[::1]x/", "http://h:80a/", "file:///tmp/x"}) {
    EXPECT_FALSE(ParseHttp1Url(url).has_value()) << url;
  }
}

TEST(Http1RequestTest, HeaderCheckRejectsLineBreaksWithoutEchoingTheValue) {
  EXPECT_TRUE(CheckHttp1Headers({{"X-Amz-Date", "20240101T000000Z"}, {"A", "b: c"}}).ok());

  Status s = CheckHttp1Headers({{"X-Ok", "1"}, {"X-Bad", "secret\r\nInjected: yes"}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("X-Bad"), std::string::npos);
  EXPECT_EQ(s.message().find("secret"), std::string::npos);

  EXPECT_FALSE(CheckHttp1Headers({{"X:Bad", "v"}}).ok());
  EXPECT_FALSE(CheckHttp1Headers({{"X\nBad", "v"}}).ok());
  EXPECT_FALSE(CheckHttp1Headers({{"X-Bad", "v\r"}}).ok());
}

TEST(Http1RequestTest, RequestBytesAddHostAndContentLength) {
  HttpRequest get;
  get.method = "GET";
  get.headers = {{"Accept", "*/*"}};
  EXPECT_EQ(Http1RequestBytes(get, *ParseHttp1Url("http://h:8080/p?x=1")),
            "GET /p?x=1 HTTP/1.1\r\nHost: h:8080\r\nAccept: */*\r\n\r\n");

  HttpRequest post;
  post.method = "POST";  // a body method says Content-Length even when the body is empty
  EXPECT_EQ(Http1RequestBytes(post, *ParseHttp1Url("https://h/f")),
            "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");

  post.body = "{\"a\":1}";
  EXPECT_EQ(Http1RequestBytes(post, *ParseHttp1Url("https://h/f")),
            "POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(Http1RequestTest, RequestBytesKeepTheCallersHostAndContentLength) {
  HttpRequest r;
  r.method = "PUT";
  r.headers = {{"host", "other:1"}, {"content-LENGTH", "3"}};
  r.body = "abc";
  EXPECT_EQ(Http1RequestBytes(r, *ParseHttp1Url("http://h/k")),
            "PUT /k HTTP/1.1\r\nhost: other:1\r\ncontent-LENGTH: 3\r\n\r\nabc");
}

TEST(Http1RequestTest, ProxyVariableSetSeesNonEmptyProxyVariables) {
  const std::vector<std::string> names = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                          "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
  std::vector<std::optional<std::string>> saved;
  for (const auto& n : names) {
    const char* v = std::getenv(n.c_str());
    saved.push_back(v ? std::optional<std::string>(v) : std::nullopt);
    unsetenv(n.c_str());
  }
  EXPECT_FALSE(ProxyVariableSet());
  setenv("HTTPS_PROXY", "", 1);
  EXPECT_FALSE(ProxyVariableSet());
  setenv("all_proxy", "http://proxy:3128", 1);
  EXPECT_TRUE(ProxyVariableSet());
  for (size_t i = 0; i < names.size(); ++i) {
    if (saved[i]) {
      setenv(names[i].c_str(), saved[i]->c_str(), 1);
    } else {
      unsetenv(names[i].c_str());
    }
  }
}

}  // namespace
}  // namespace parallelagram
