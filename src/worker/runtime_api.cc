#include "worker/runtime_api.h"

#include <fcntl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace parallelagram {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Invocation payloads are at most 6 MB (sync) on AWS; leave room for local variants.
constexpr uint64_t kMaxEventBytes = 64ull << 20;
// Delays before each retry of a request whose connection failed (the first retry is
// immediate: a kept-alive connection the server closed is the common case).
constexpr int kRetryDelaysMs[] = {0, 10, 50, 200, 500, 1000};
constexpr char kUserAgent[] = "parallelagram-worker/1";

}  // namespace

std::string RuntimeErrorBody(const std::string& type, const std::string& message) {
  nlohmann::json j = {
      {"errorType", type}, {"errorMessage", message}, {"stackTrace", nlohmann::json::array()}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct BeastRuntimeApi::Impl {
  std::string host_port;
  std::string host;
  std::string port;
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;

  explicit Impl(std::string hp) : host_port(std::move(hp)) {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos) {
      host = host_port;
      port = "80";
    } else {
      host = host_port.substr(0, colon);
      port = host_port.substr(colon + 1);
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
  }

  void Close() {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    buffer.clear();
  }

  beast::error_code Connect() {
    beast::error_code ec;
    unsigned short port_num = 0;
    auto [p, perr] = std::from_chars(port.data(), port.data() + port.size(), port_num);
    // Numeric addresses only (Lambda gives 127.0.0.1:9001): a name resolver would cost
    // cold-start time and cannot be linked statically. "localhost" is the one name known.
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec || perr != std::errc() || p != port.data() + port.size()) {
      return ec ? ec : asio::error::invalid_argument;
    }
    socket.connect(tcp::endpoint(addr, port_num), ec);
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    // Tasks must not inherit the Runtime API connection.
    if (!ec) ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    return ec;
  }

  // Sends one request and reads its response, reconnecting and retrying when the
  // connection fails. The response's status is the caller's business.
  Result<http::response<http::string_body>> RoundTrip(http::request<http::string_body>& req) {
    beast::error_code ec;
    for (int delay : kRetryDelaysMs) {
      if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      if (!socket.is_open()) {
        ec = Connect();
        if (ec) {
          Close();
          continue;
        }
      }
      http::write(socket, req, ec);
      if (ec) {
        Close();
        continue;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(kMaxEventBytes);
      http::read(socket, buffer, parser, ec);
      if (ec) {
        Close();
        continue;
      }
      auto res = parser.release();
      if (!res.keep_alive()) Close();
      return res;
    }
    return Status::Unavailable("cannot reach the Lambda Runtime API at " + host_port + ": " +
                               ec.message());
  }

  http::request<http::string_body> MakeRequest(http::verb verb, const std::string& target) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_port);
    req.set(http::field::user_agent, kUserAgent);
    req.keep_alive(true);
    return req;
  }

  Status Post(const std::string& target, const std::string& body, const std::string* error_type) {
    auto req = MakeRequest(http::verb::post, target);
    req.set(http::field::content_type, "application/json");
    if (error_type) req.set(kHeaderErrorType, *error_type);
    req.body() = body;
    req.prepare_payload();
    PG_ASSIGN_OR_RETURN(auto res, RoundTrip(req));
    unsigned code = res.result_int();
    if (code < 200 || code >= 300) {
      std::string snippet = res.body().substr(0, 200);
      return Status::ProtocolError("the Runtime API answered " + std::to_string(code) +
                                   " to POST " + target + ": " + snippet);
    }
    return Status::Ok();
  }
};

BeastRuntimeApi::BeastRuntimeApi(std::string host_port)
    : impl_(std::make_unique<Impl>(std::move(host_port))) {}

BeastRuntimeApi::~BeastRuntimeApi() = default;

Result<NextInvocation> BeastRuntimeApi::Next() {
  auto req = impl_->MakeRequest(http::verb::get, kPathNext);
  PG_ASSIGN_OR_RETURN(auto res, impl_->RoundTrip(req));
  if (res.result_int() != 200) {
    return Status::ProtocolError("the Runtime API answered " + std::to_string(res.result_int()) +
                                 " to GET " + kPathNext + ": " + res.body().substr(0, 200));
  }
  NextInvocation inv;
  inv.request_id = std::string(res[kHeaderRequestId]);
  auto deadline = res[kHeaderDeadlineMs];
  int64_t d = 0;
  auto [p, err] = std::from_chars(deadline.data(), deadline.data() + deadline.size(), d);
  if (err == std::errc() && p == deadline.data() + deadline.size() && d > 0)
    inv.deadline_epoch_ms = d;
  inv.invoked_function_arn = std::string(res[kHeaderFunctionArn]);
  inv.trace_id = std::string(res[kHeaderTraceId]);
  inv.body = std::move(res.body());
  return inv;
}

Status BeastRuntimeApi::PostResponse(const std::string& request_id, const std::string& json_body) {
  return impl_->Post(kPathInvocationPrefix + request_id + kPathResponseSuffix, json_body, nullptr);
}

Status BeastRuntimeApi::PostError(const std::string& request_id, const std::string& type,
                                  const std::string& message) {
  return impl_->Post(kPathInvocationPrefix + request_id + kPathErrorSuffix,
                     RuntimeErrorBody(type, message), &type);
}

Status BeastRuntimeApi::PostInitError(const std::string& type, const std::string& message) {
  return impl_->Post(kPathInitError, RuntimeErrorBody(type, message), &type);
}

}  // namespace parallelagram
