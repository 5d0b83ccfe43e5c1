// Http1Client's request side, without I/O: which URLs it handles
// (ParseHttp1Url), the bytes of an HTTP/1.1 request (Http1RequestBytes), the
// header check that keeps a caller's header from adding lines to them, whether
// a proxy variable sends requests elsewhere, and Http1Call, the record of one
// request in flight that the pools and connections pass around.
//
// Internal to src/http (http1_client.cc, http1_pool.cc, http1_connection.cc).
// The functions are pure (ProxyVariableSet and SteadyMicros read the
// environment and the clock) and thread-safe. Errors are Status values whose
// messages never hold a header value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_client.h"
#include "http/io_loop.h"
#include "parallelagram/status.h"

namespace parallelagram {

// The parts of an http(s) URL the client needs. `host` is lower-cased and
// unbracketed; `host_header` drops a default port (as the SigV4 signer does).
struct Http1Url {
  bool tls = false;
  std::string host;
  std::string port;         // always set: "80" or "443" when the URL has none
  std::string host_header;  // the Host header's value: "[::1]:8080", "example.com"
  std::string target;       // path and query as given ("/" when empty)
};

// Parses "http[s]://host[:port][/path][?query][#fragment]"; the scheme is
// case-insensitive, an IPv6 host is written in brackets and the fragment is
// dropped. nullopt for any other scheme, an empty host, userinfo ("user@"), an
// unclosed bracket or a port that is not digits: such URLs go to the fallback.
std::optional<Http1Url> ParseHttp1Url(std::string_view url);

// OK, or kInvalidArgument naming the header (its name cut to 64 characters,
// never its value) when a name holds CR, LF or ':' or a value holds CR or LF.
Status CheckHttp1Headers(const HttpHeaders& headers);

// The request line, a Host header (unless `request` has one), `request`'s
// headers in order, a Content-Length (unless given; set when there is a body
// and for POST, PUT and PATCH), the blank line and the body. The headers must
// have passed CheckHttp1Headers.
std::string Http1RequestBytes(const HttpRequest& request, const Http1Url& url);

// True when one of http_proxy, https_proxy or all_proxy (lower or upper case)
// is set and not empty: libcurl would use a proxy, and this client cannot.
bool ProxyVariableSet();

// Lower-cases the ASCII letters of `s`.
void LowerAsciiInPlace(std::string& s);

// A monotonic clock in microseconds (Http1Call::start_us, DNS cache ages).
int64_t SteadyMicros();

class Http1Connection;
class Http1Pool;

// One request of Http1Client, from Send() to its done(). Owned by the client
// (Http1Client::Impl), which deletes it when it calls done. The pools and the
// connection carrying it borrow it until they hand it back (Http1Pools'
// finish callback) or the client abandons it (Http1Pools::Abandon). Loop
// thread only.
struct Http1Call {
  HttpRequest request;
  std::function<void(Result<HttpResponse>)> done;
  std::string wire;  // the request's bytes (kept for one resend)
  std::string what;  // "POST host:port" for messages
  Http1Pool* pool = nullptr;
  Http1Connection* conn = nullptr;  // the connection carrying it, if any
  IoLoop::TimerId timer = 0;        // the whole-request timeout, if any
  int64_t start_us = 0;             // SteadyMicros() at Send
  bool resent = false;
  size_t connect_tries = 0;  // addresses tried for a new connection
};

}  // namespace parallelagram
