// Test helpers for the local Lambda service: a raw HTTP call, small sh + curl runtimes and
// a fixture with a running LocalLambda. Header-only, for *_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "common/base64.h"
#include "local/local_lambda.h"
#include "os/zip_util.h"

namespace parallelagram::local::testing {

namespace http = boost::beast::http;
using json = nlohmann::json;

struct Resp {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string H(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

inline Resp Call(int port, http::verb verb, const std::string& target, const std::string& body = "",
                 std::map<std::string, std::string> headers = {}) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket sock(io);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(sock, buf, parser);
  Resp r;
  auto& res = parser.get();
  r.status = res.result_int();
  for (auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  r.body = res.body();
  return r;
}

// A runtime in sh + curl: echoes the event, or runs it as a shell command when it starts
// with "cmd:" (the JSON string's content), posting the command's stdout as the response.
inline const char* kEchoRuntime = R"(#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "runtime started" >&2
while true; do
  hdr=$(mktemp); ev=$(mktemp)
  curl -sS -D "$hdr" -o "$ev" "$api/invocation/next" || exit 3
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$hdr" | tr -d '\r' | cut -d' ' -f2)
  body=$(cat "$ev")
  case "$body" in
    '"cmd:'*) c=${body#\"cmd:}; c=${c%\"}; out=$(sh -c "$c"); 
              curl -sS -o /dev/null -X POST --data-binary "\"$out\"" "$api/invocation/$id/response" ;;
    '"fail"') curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Fail' \
               --data-binary '{"errorType":"Custom.Fail","errorMessage":"asked to fail"}' "$api/invocation/$id/error" ;;
    *) echo "event for $id" >&2
       curl -sS -o /dev/null -X POST --data-binary "@$ev" "$api/invocation/$id/response" ;;
  esac
  rm -f "$hdr" "$ev"
done
)";

class LocalLambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LocalLambdaOptions o;
    o.concurrency = 4;
    o.event_retry_delays_ms = {50, 50};
    Customize(o);
    auto s = LocalLambda::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ll_ = std::move(s).value();
  }
  virtual void Customize(LocalLambdaOptions&) {}
  void TearDown() override { ll_.reset(); }

  Resp Create(const std::string& name, const std::string& runtime_script, int timeout = 5,
              json extra = json::object()) {
    auto zip = os::MakeZip({{"bootstrap", runtime_script, 0755}});
    EXPECT_TRUE(zip.ok());
    json body = {{"FunctionName", name},
                 {"Runtime", "provided.al2023"},
                 {"Role", "arn:aws:iam::123456789012:role/r"},
                 {"Handler", "h"},
                 {"Timeout", timeout},
                 {"Code", {{"ZipFile", Base64Encode(*zip)}}}};
    body.update(extra);
    return Call(ll_->port(), http::verb::post, "/2015-03-31/functions", body.dump());
  }
  Resp Invoke(const std::string& name, const std::string& payload,
              std::map<std::string, std::string> h = {}) {
    return Call(ll_->port(), http::verb::post, "/2015-03-31/functions/" + name + "/invocations",
                payload, std::move(h));
  }
  std::unique_ptr<LocalLambda> ll_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Waits up to ~10 s for `pred`.
template <typename Pred>
bool WaitFor(Pred pred) {
  for (int i = 0; i < 200; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace parallelagram::local::testing
