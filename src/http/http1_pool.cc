#include "http/http1_pool.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "http/http1_connection.h"

namespace parallelagram {

// Connections and waiting calls for one scheme://host:port. Owned by
// Http1Pools::pools_; the listener of its connections.
class Http1Pool final : public Http1Connection::Listener {
 public:
  Http1Pool(Http1Pools* owner, Http1Url u) : pools(owner), url(std::move(u)) {}

  Result<std::shared_ptr<TlsContext>> TlsContextForHandshake() override {
    return pools->TlsContextForHandshake();
  }
  void OnConnected(Http1Connection* conn) override { good_addr = conn->addr_index(); }
  void OnResponse(Http1Connection* conn, Http1Call* call, HttpResponse response,
                  bool keep) override {
    pools->OnResponse(this, conn, call, std::move(response), keep);
  }
  void OnFailed(Http1Connection* conn, const std::string& why, bool timeout) override {
    pools->ConnFailed(this, conn, why, timeout);
  }

  Http1Pools* const pools;
  const Http1Url url;
  std::vector<sockaddr_storage> addrs;
  std::vector<socklen_t> addr_lens;
  int64_t resolved_us = -1;
  bool resolving = false;
  size_t good_addr = 0;  // the address the last connection reached
  std::vector<Http1Connection*> idle;
  int total = 0;
  std::deque<Http1Call*> waiting;
};

Http1Pools::Http1Pools(IoLoop& loop, Options options, Finish finish)
    : loop_(loop), options_(std::move(options)), finish_(std::move(finish)) {}

Http1Pools::~Http1Pools() {
  for (Http1Connection* c : conns_) delete c;
  for (auto& [id, t] : resolvers_) t.join();
}

void Http1Pools::Send(Http1Call* call, Http1Url url) {
  std::string key = url.tls ? "s" : "p";
  key += url.host;
  key += ' ';
  key += url.port;
  auto& pool = pools_[key];
  if (!pool) pool = std::make_unique<Http1Pool>(this, std::move(url));
  call->pool = pool.get();
  Place(call);
}

void Http1Pools::Abandon(Http1Call* c) {
  if (c->conn != nullptr) {
    Http1Connection* conn = c->conn;
    conn->DetachCall();
    c->conn = nullptr;
    Close(c->pool, conn);  // mid-request: the connection cannot carry another one
  } else {
    auto& w = c->pool->waiting;
    for (auto it = w.begin(); it != w.end(); ++it) {
      if (*it == c) {
        w.erase(it);
        break;
      }
    }
  }
}

void Http1Pools::Place(Http1Call* c) {
  Http1Pool* p = c->pool;
  if (!p->idle.empty()) {
    Http1Connection* conn = p->idle.back();
    p->idle.pop_back();
    c->conn = conn;
    return conn->Start(c);
  }
  const int cap = options_.max_connections_per_host;
  const bool fresh =
      p->resolved_us >= 0 && SteadyMicros() - p->resolved_us < options_.dns_ttl_ms * 1000;
  if (!fresh) Resolve(p);
  if ((cap <= 0 || p->total < cap) && !p->addrs.empty()) return Open(p, c);
  p->waiting.push_back(c);
}

// Gives queued calls the connections and slots that are free now.
void Http1Pools::ServeWaiting(Http1Pool* p) {
  const int cap = options_.max_connections_per_host;
  while (!p->waiting.empty()) {
    Http1Call* c = p->waiting.front();
    if (!p->idle.empty()) {
      p->waiting.pop_front();
      Http1Connection* conn = p->idle.back();
      p->idle.pop_back();
      c->conn = conn;
      conn->Start(c);
    } else if ((cap <= 0 || p->total < cap) && !p->addrs.empty()) {
      p->waiting.pop_front();
      Open(p, c);
    } else {
      break;
    }
  }
}

void Http1Pools::Resolve(Http1Pool* p) {
  if (p->resolving) return;
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  const uint16_t port = static_cast<uint16_t>(std::atoi(p->url.port.c_str()));
  if (inet_pton(AF_INET, p->url.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    p->addrs = {ss};
    p->addr_lens = {sizeof(sockaddr_in)};
    p->resolved_us = INT64_MAX / 2;  // a literal never expires
    return;
  }
  if (inet_pton(AF_INET6, p->url.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    p->addrs = {ss};
    p->addr_lens = {sizeof(sockaddr_in6)};
    p->resolved_us = INT64_MAX / 2;
    return;
  }
  p->resolving = true;
  std::weak_ptr<bool> weak = alive_;
  std::string host = p->url.host, service = p->url.port;
  IoLoop* lp = &loop_;
  const uint64_t id = next_resolver_++;
  resolvers_.emplace(
      id, std::thread([this, weak, lp, p, host, service, id]() {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
        std::vector<sockaddr_storage> addrs;
        std::vector<socklen_t> lens;
        for (int family : {AF_INET, AF_INET6}) {  // IPv4 first; the others are tried on failure
          for (addrinfo* a = res; rc == 0 && a != nullptr; a = a->ai_next) {
            if (a->ai_family != family) continue;
            sockaddr_storage ss{};
            std::memcpy(&ss, a->ai_addr, a->ai_addrlen);
            addrs.push_back(ss);
            lens.push_back(a->ai_addrlen);
          }
        }
        if (res != nullptr) freeaddrinfo(res);
        std::string err = rc == 0 ? "" : gai_strerror(rc);
        lp->Post(
            [this, weak, p, addrs = std::move(addrs), lens = std::move(lens), err, id]() mutable {
              if (weak.expired()) return;
              OnResolved(id, p, std::move(addrs), std::move(lens), err);
            });
      }));
}

void Http1Pools::OnResolved(uint64_t id, Http1Pool* p, std::vector<sockaddr_storage> addrs,
                            std::vector<socklen_t> lens, const std::string& err) {
  auto t = resolvers_.find(id);
  if (t != resolvers_.end()) {  // its last act was the Post: the join is immediate
    t->second.join();
    resolvers_.erase(t);
  }
  p->resolving = false;
  if (!addrs.empty()) {
    p->addrs = std::move(addrs);
    p->addr_lens = std::move(lens);
    p->resolved_us = SteadyMicros();
  } else if (p->addrs.empty()) {
    std::deque<Http1Call*> failed;
    failed.swap(p->waiting);
    for (Http1Call* c : failed) {
      Fail(c, Status::Unavailable(c->what + " failed: cannot resolve host '" + p->url.host +
                                  "': " + (err.empty() ? "no address" : err)));
    }
    return;
  }
  ServeWaiting(p);
}

void Http1Pools::Open(Http1Pool* p, Http1Call* c) {
  size_t i = (p->good_addr + c->connect_tries) % p->addrs.size();
  ++c->connect_tries;
  auto conn = Http1Connection::Open(
      loop_, p, &p->url, reinterpret_cast<const sockaddr*>(&p->addrs[i]), p->addr_lens[i], i, c);
  if (!conn.ok()) {
    const bool next = conn.status().code() == StatusCode::kUnavailable;  // not the socket()
    if (next && c->connect_tries < p->addrs.size()) return Open(p, c);
    return Fail(c, Status::Unavailable(c->what + " failed: " + conn.status().message()));
  }
  Http1Connection* raw = conn->release();
  c->conn = raw;
  conns_.insert(raw);
  ++p->total;
  ++opened_;
}

void Http1Pools::OnResponse(Http1Pool* p, Http1Connection* conn, Http1Call* c, HttpResponse r,
                            bool keep) {
  c->conn = nullptr;
  if (keep) {
    p->idle.push_back(conn);
    ServeWaiting(p);
  } else {
    Close(p, conn);
  }
  finish_(c, std::move(r));
}

// The connection broke (or timed out connecting). Its call, if any, is sent
// again once when nothing of its response came on a reused connection.
void Http1Pools::ConnFailed(Http1Pool* p, Http1Connection* conn, const std::string& why,
                            bool timeout) {
  Http1Call* c = conn->call();
  const bool resend = c != nullptr && conn->reused() && !conn->got_response() && !c->resent;
  const bool next_address = c != nullptr && conn->state() == Http1Connection::State::kConnecting &&
                            !timeout && c->connect_tries < p->addrs.size();
  if (c != nullptr) {
    c->conn = nullptr;
    conn->DetachCall();
  }
  Close(p, conn);
  if (c == nullptr) return;
  if (resend) {
    c->resent = true;
    return Place(c);
  }
  if (next_address) return Place(c);
  std::string msg = c->what + " failed: " + why;
  Fail(c, timeout ? Status::Timeout(msg) : Status::Unavailable(msg));
}

void Http1Pools::Close(Http1Pool* p, Http1Connection* conn) {
  if (conn->state() == Http1Connection::State::kIdle) {
    for (size_t i = 0; i < p->idle.size(); ++i) {
      if (p->idle[i] == conn) {
        p->idle.erase(p->idle.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  --p->total;
  conns_.erase(conn);
  delete conn;
  ServeWaiting(p);
}

Result<std::shared_ptr<TlsContext>> Http1Pools::TlsContextForHandshake() {
  if (!tls_ctx_) {
    auto ctx = TlsContext::Create(options_.ca_file);
    if (!ctx.ok()) return ctx.status();
    tls_ctx_ = *ctx;
  }
  return tls_ctx_;
}

}  // namespace parallelagram
