// Http1Client: the glue. Send() routes a request to the fallback client or
// turns it into an Http1Call (http1_request.h) for the pools (http1_pool.h),
// which run it on a connection (http1_connection.h); this file owns the calls,
// their whole-request timeouts and the calls to done.
#include "http/http1_client.h"

#include <cstdlib>
#include <optional>
#include <unordered_set>

#include "http/http1_pool.h"
#include "http/http1_request.h"

namespace parallelagram {
namespace {

using Done = std::function<void(Result<HttpResponse>)>;

Http1Client::Options WithDefaultCaFile(Http1Client::Options o) {
  if (o.ca_file.empty()) {
    const char* env = std::getenv("AWS_CA_BUNDLE");
    if (env != nullptr) o.ca_file = env;
  }
  return o;
}

}  // namespace

struct Http1Client::Impl {
  IoLoop& loop;
  const Options options;
  std::unique_ptr<HttpClient> fallback;
  const bool proxy = ProxyVariableSet();
  std::unordered_set<Http1Call*> calls;  // owned
  Http1Pools pools;

  Impl(IoLoop& l, Options o, std::unique_ptr<HttpClient> f)
      : loop(l),
        options(WithDefaultCaFile(std::move(o))),
        fallback(std::move(f)),
        pools(l, {options.max_connections_per_host, options.dns_ttl_ms, options.ca_file},
              [this](Http1Call* c, Result<HttpResponse> r) { Finish(c, std::move(r)); }) {}

  ~Impl() {
    for (Http1Call* c : calls) {
      if (c->timer) loop.CancelTimer(c->timer);
      delete c;
    }
    loop.AddPending(-static_cast<int>(calls.size()));
  }

  void Later(Done done, Status s) {
    loop.AddTimer(0, [done = std::move(done), s = std::move(s)]() { done(s); });
  }

  void Send(HttpRequest request, Done done) {
    const bool needs_fallback =
        proxy || !request.body_file.empty() || !request.response_file.empty();
    std::optional<Http1Url> url;
    if (!needs_fallback) url = ParseHttp1Url(request.url);
    if (needs_fallback || !url) {
      if (fallback) return fallback->Send(std::move(request), std::move(done));
      std::string why = needs_fallback ? "a proxy, a file body or a response file"
                                       : "a URL other than http(s)://host[:port]/...";
      return Later(std::move(done), Status::InvalidArgument("this HTTP client does not handle " +
                                                            why + " and has no fallback"));
    }
    Status headers = CheckHttp1Headers(request.headers);
    if (!headers.ok()) return Later(std::move(done), std::move(headers));
    auto call = std::make_unique<Http1Call>();
    call->wire = Http1RequestBytes(request, *url);
    call->what = request.method + " " + url->host_header;
    call->request = std::move(request);
    call->done = std::move(done);
    call->start_us = SteadyMicros();
    Http1Call* c = call.release();
    calls.insert(c);
    loop.AddPending(1);
    if (c->request.timeout_ms > 0) {
      c->timer = loop.AddTimer(c->request.timeout_ms, [this, c]() { OnCallTimeout(c); });
    }
    pools.Send(c, std::move(*url));
  }

  void OnCallTimeout(Http1Call* c) {
    c->timer = 0;
    pools.Abandon(c);
    Finish(c, Status::Timeout(c->what + " failed: timed out after " +
                              std::to_string(c->request.timeout_ms) + " ms"));
  }

  void Finish(Http1Call* c, Result<HttpResponse> r) {
    if (c->timer) loop.CancelTimer(c->timer);
    calls.erase(c);
    loop.AddPending(-1);
    Done done = std::move(c->done);
    delete c;
    done(std::move(r));
  }
};

Http1Client::Http1Client(IoLoop& loop, Options options, std::unique_ptr<HttpClient> fallback)
    : impl_(std::make_unique<Impl>(loop, std::move(options), std::move(fallback))) {}

Http1Client::~Http1Client() = default;

void Http1Client::Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) {
  impl_->Send(std::move(request), std::move(done));
}

int64_t Http1Client::connections_opened() const { return impl_->pools.connections_opened(); }

std::unique_ptr<HttpClient> MakeInvokeHttpClient(IoLoop& loop, long max_host_connections) {
  CurlHttpClient::Options co;
  co.max_host_connections = max_host_connections;
  Http1Client::Options ho;
  ho.max_connections_per_host = static_cast<int>(max_host_connections);
  return std::make_unique<Http1Client>(loop, ho, std::make_unique<CurlHttpClient>(loop, co));
}

}  // namespace parallelagram
