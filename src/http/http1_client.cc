#include "http/http1_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/tls_session.h"

namespace parallelagram {
namespace {

namespace http = boost::beast::http;
using Done = std::function<void(Result<HttpResponse>)>;
using Parser = http::response_parser<http::string_body>;

constexpr size_t kReadChunk = 65536;
constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ProxyVariableSet() {
  for (const char* name :
       {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return true;
  }
  return false;
}

void LowerInPlace(std::string& s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// The parts of an http(s) URL this client needs. Host is lower-cased and
// unbracketed; host_header drops a default port (as the SigV4 signer does).
struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string host_header;
  std::string target;  // path and query as given ("/" when empty)
};

std::optional<Url> ParseUrl(std::string_view url) {
  Url u;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, scheme_end));
  LowerInPlace(scheme);
  if (scheme == "https") {
    u.tls = true;
  } else if (scheme != "http") {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t frag = rest.find('#');
  if (frag != std::string_view::npos) rest = rest.substr(0, frag);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  u.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (u.target[0] == '?') u.target.insert(0, "/");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string_view default_port = u.tls ? "443" : "80";
  u.host = std::string(host);
  LowerInPlace(u.host);
  u.port = port.empty() ? std::string(default_port) : std::string(port);
  bool v6 = u.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.host + "]" : u.host;
  if (!port.empty() && port != default_port) u.host_header += ":" + u.port;
  return u;
}

}  // namespace

struct Http1Client::Impl {
  struct Pool;
  struct Conn;

  // One request, from Send() to its done(). Owned by Impl::calls.
  struct Call {
    HttpRequest request;
    Done done;
    std::string wire;  // the request's bytes (kept for one resend)
    std::string what;  // "POST host:port" for messages
    Pool* pool = nullptr;
    Conn* conn = nullptr;  // the connection carrying it, if any
    EventLoop::TimerId timer = 0;
    int64_t start_us = 0;
    bool resent = false;
    size_t connect_tries = 0;  // addresses tried for a new connection
  };

  // One connection. Owned by Impl::conns.
  struct Conn final : EventLoop::FdWatcher {
    enum class State { kConnecting, kHandshake, kBusy, kIdle };
    Impl* impl = nullptr;
    Pool* pool = nullptr;
    int fd = -1;
    State state = State::kConnecting;
    std::unique_ptr<TlsSession> tls;
    Call* call = nullptr;
    std::string out;  // bytes to send (ciphertext under TLS)
    size_t out_off = 0;
    std::string in;  // plaintext received, not yet parsed
    std::optional<Parser> parser;
    bool reused = false;         // carried a request before this one
    bool got_response = false;   // a byte of the current response arrived
    uint32_t events = 0;
    EventLoop::TimerId connect_timer = 0;
    size_t addr = 0;  // index in pool->addrs
    void OnFdReady(uint32_t ev) override { impl->OnReady(this, ev); }
  };

  // Connections and waiting requests for one scheme://host:port.
  struct Pool {
    Url url;
    std::vector<sockaddr_storage> addrs;
    std::vector<socklen_t> addr_lens;
    int64_t resolved_us = -1;
    bool resolving = false;
    size_t good_addr = 0;  // the address the last connection reached
    std::vector<Conn*> idle;
    int total = 0;
    std::deque<Call*> waiting;
  };

  EventLoop& loop;
  Options options;
  std::unique_ptr<HttpClient> fallback;
  bool proxy = ProxyVariableSet();
  std::shared_ptr<TlsContext> tls_ctx;
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools;
  std::unordered_set<Conn*> conns;
  std::unordered_set<Call*> calls;
  std::unordered_map<uint64_t, std::thread> resolvers;  // DNS lookups in progress
  uint64_t next_resolver = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  int64_t opened = 0;

  Impl(EventLoop& l, Options o, std::unique_ptr<HttpClient> f)
      : loop(l), options(std::move(o)), fallback(std::move(f)) {
    if (options.ca_file.empty()) {
      const char* env = std::getenv("AWS_CA_BUNDLE");
      if (env != nullptr) options.ca_file = env;
    }
  }

  ~Impl() {
    for (Conn* c : conns) {
      loop.UnwatchFd(c->fd);
      close(c->fd);
      if (c->connect_timer) loop.CancelTimer(c->connect_timer);
      delete c;
    }
    for (Call* c : calls) {
      if (c->timer) loop.CancelTimer(c->timer);
      delete c;
    }
    loop.AddPending(-static_cast<int>(calls.size()));
    for (auto& [id, t] : resolvers) t.join();
  }

  void Later(Done done, Status s) {
    loop.AddTimer(0, [done = std::move(done), s = std::move(s)]() { done(s); });
  }

  void Send(HttpRequest request, Done done) {
    const bool needs_fallback =
        proxy || !request.body_file.empty() || !request.response_file.empty();
    std::optional<Url> url;
    if (!needs_fallback) url = ParseUrl(request.url);
    if (needs_fallback || !url) {
      if (fallback) return fallback->Send(std::move(request), std::move(done));
      std::string why = needs_fallback ? "a proxy, a file body or a response file"
                                       : "a URL other than http(s)://host[:port]/...";
      return Later(std::move(done),
                   Status::InvalidArgument("this HTTP client does not handle " + why +
                                           " and has no fallback"));
    }
    auto call = std::make_unique<Call>();
    for (const auto& [k, v] : request.headers) {
      if (k.find_first_of("\r\n:") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos) {
        return Later(std::move(done),
                     Status::InvalidArgument("HTTP header '" + k.substr(0, 64) +
                                             "' has a line break or colon in its name or value"));
      }
    }
    BuildWire(request, *url, call->wire);
    call->what = request.method + " " + url->host_header;
    std::string key = url->tls ? "s" : "p";
    key += url->host;
    key += ' ';
    key += url->port;
    auto& pool = pools[key];
    if (!pool) {
      pool = std::make_unique<Pool>();
      pool->url = std::move(*url);
    }
    call->pool = pool.get();
    call->request = std::move(request);
    call->done = std::move(done);
    call->start_us = NowUs();
    Call* c = call.release();
    calls.insert(c);
    loop.AddPending(1);
    if (c->request.timeout_ms > 0) {
      c->timer = loop.AddTimer(c->request.timeout_ms, [this, c]() { OnCallTimeout(c); });
    }
    Dispatch(c);
  }

  static void BuildWire(const HttpRequest& r, const Url& url, std::string& w) {
    bool has_host = false, has_length = false;
    size_t size = r.method.size() + url.target.size() + url.host_header.size() + r.body.size() + 64;
    for (const auto& [k, v] : r.headers) {
      size += k.size() + v.size() + 4;
      if (HeaderNameEquals(k, "host")) has_host = true;
      if (HeaderNameEquals(k, "content-length")) has_length = true;
    }
    w.reserve(size);
    w += r.method;
    w += ' ';
    w += url.target;
    w += " HTTP/1.1\r\n";
    if (!has_host) {
      w += "Host: ";
      w += url.host_header;
      w += "\r\n";
    }
    for (const auto& [k, v] : r.headers) {
      w += k;
      w += ": ";
      w += v;
      w += "\r\n";
    }
    const bool body_method = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    if (!has_length && (!r.body.empty() || body_method)) {
      w += "Content-Length: ";
      w += std::to_string(r.body.size());
      w += "\r\n";
    }
    w += "\r\n";
    w += r.body;
  }

  // ---- scheduling -----------------------------------------------------------

  void Dispatch(Call* c) {
    Pool* p = c->pool;
    if (!p->idle.empty()) {
      Conn* conn = p->idle.back();
      p->idle.pop_back();
      return Start(conn, c);
    }
    const int cap = options.max_connections_per_host;
    const bool fresh = p->resolved_us >= 0 && NowUs() - p->resolved_us < options.dns_ttl_ms * 1000;
    if (!fresh) Resolve(p);
    if ((cap <= 0 || p->total < cap) && !p->addrs.empty()) return Open(p, c);
    p->waiting.push_back(c);
  }

  // Gives queued requests the connections and slots that are free now.
  void Pump(Pool* p) {
    const int cap = options.max_connections_per_host;
    while (!p->waiting.empty()) {
      Call* c = p->waiting.front();
      if (!p->idle.empty()) {
        p->waiting.pop_front();
        Conn* conn = p->idle.back();
        p->idle.pop_back();
        Start(conn, c);
      } else if ((cap <= 0 || p->total < cap) && !p->addrs.empty()) {
        p->waiting.pop_front();
        Open(p, c);
      } else {
        break;
      }
    }
  }

  void Resolve(Pool* p) {
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
    std::weak_ptr<bool> weak = alive;
    std::string host = p->url.host, service = p->url.port;
    EventLoop* lp = &loop;
    const uint64_t id = next_resolver++;
    resolvers.emplace(id, std::thread([this, weak, lp, p, host, service, id]() {
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
      lp->Post([this, weak, p, addrs = std::move(addrs), lens = std::move(lens), err, id]() mutable {
        if (weak.expired()) return;
        OnResolved(id, p, std::move(addrs), std::move(lens), err);
      });
    }));
  }

  void OnResolved(uint64_t id, Pool* p, std::vector<sockaddr_storage> addrs,
                  std::vector<socklen_t> lens, const std::string& err) {
    auto t = resolvers.find(id);
    if (t != resolvers.end()) {  // its last act was the Post: the join is immediate
      t->second.join();
      resolvers.erase(t);
    }
    p->resolving = false;
    if (!addrs.empty()) {
      p->addrs = std::move(addrs);
      p->addr_lens = std::move(lens);
      p->resolved_us = NowUs();
    } else if (p->addrs.empty()) {
      std::deque<Call*> failed;
      failed.swap(p->waiting);
      for (Call* c : failed) {
        FailCall(c, Status::Unavailable(c->what + " failed: cannot resolve host '" + p->url.host +
                                        "': " + (err.empty() ? "no address" : err)));
      }
      return;
    }
    Pump(p);
  }

  void Open(Pool* p, Call* c) {
    size_t i = (p->good_addr + c->connect_tries) % p->addrs.size();
    ++c->connect_tries;
    const auto* sa = reinterpret_cast<const sockaddr*>(&p->addrs[i]);
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return FailCall(c, Status::Unavailable(c->what + " failed: cannot create a socket: " +
                                             std::strerror(errno)));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->request.tcp_keepalive) {
      int idle = 60;
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
    }
    if (connect(fd, sa, p->addr_lens[i]) != 0 && errno != EINPROGRESS) {
      int e = errno;
      close(fd);
      if (c->connect_tries < p->addrs.size()) return Open(p, c);
      return FailCall(c, Status::Unavailable(c->what + " failed: cannot connect: " +
                                             std::strerror(e)));
    }
    auto* conn = new Conn;
    conn->impl = this;
    conn->pool = p;
    conn->fd = fd;
    conn->addr = i;
    conn->call = c;
    c->conn = conn;
    conns.insert(conn);
    ++p->total;
    ++opened;
    SetEvents(conn, EPOLLOUT);
    if (c->request.connect_timeout_ms > 0) {
      conn->connect_timer = loop.AddTimer(c->request.connect_timeout_ms, [this, conn]() {
        conn->connect_timer = 0;
        ConnFailed(conn, "connection timed out after " +
                             std::to_string(conn->call ? conn->call->request.connect_timeout_ms
                                                       : 0) +
                             " ms", true);
      });
    }
  }

  void SetEvents(Conn* conn, uint32_t ev) {
    if (conn->events == ev) return;
    conn->events = ev;
    loop.WatchFd(conn->fd, ev, conn);
  }

  // Puts `c` on the connected `conn` and sends it.
  void Start(Conn* conn, Call* c) {
    conn->call = c;
    c->conn = conn;
    conn->state = Conn::State::kBusy;
    conn->got_response = false;
    conn->in.clear();
    conn->parser.emplace();
    conn->parser->body_limit(boost::none);
    conn->parser->eager(true);
    if (c->request.method == "HEAD") conn->parser->skip(true);
    conn->out.clear();
    conn->out_off = 0;
    if (conn->tls) {
      Status s = conn->tls->Write(c->wire);
      if (!s.ok()) return ConnFailed(conn, s.message(), false);
      conn->tls->TakeOutput(conn->out);
    } else {
      conn->out = c->wire;
    }
    if (Flush(conn)) SetEvents(conn, kReadEvents);
  }

  // Sends what is pending. False when it must wait for EPOLLOUT or failed.
  bool Flush(Conn* conn) {
    while (conn->out_off < conn->out.size()) {
      ssize_t n = send(conn->fd, conn->out.data() + conn->out_off,
                       conn->out.size() - conn->out_off, MSG_NOSIGNAL);
      if (n > 0) {
        conn->out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetEvents(conn, kReadEvents | EPOLLOUT);
        return false;
      }
      ConnFailed(conn, std::string("send failed: ") + std::strerror(errno), false);
      return false;
    }
    conn->out.clear();
    conn->out_off = 0;
    return true;
  }

  // ---- I/O ------------------------------------------------------------------

  void OnReady(Conn* conn, uint32_t ev) {
    switch (conn->state) {
      case Conn::State::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0 && (ev & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
        if (err != 0) return ConnFailed(conn, std::string("cannot connect: ") + std::strerror(err), false);
        if (!(ev & EPOLLOUT)) return;
        if (conn->connect_timer) {
          loop.CancelTimer(conn->connect_timer);
          conn->connect_timer = 0;
        }
        conn->pool->good_addr = conn->addr;
        if (conn->pool->url.tls) {
          if (!tls_ctx) {
            auto ctx = TlsContext::Create(options.ca_file);
            if (!ctx.ok()) return ConnFailed(conn, ctx.status().message(), false);
            tls_ctx = *ctx;
          }
          conn->tls = std::make_unique<TlsSession>(tls_ctx, conn->pool->url.host);
          conn->state = Conn::State::kHandshake;
          SetEvents(conn, kReadEvents);
          return Handshake(conn);
        }
        return Start(conn, conn->call);
      }
      case Conn::State::kHandshake:
        if (ev & EPOLLOUT) {
          if (!Flush(conn)) return;
          SetEvents(conn, kReadEvents);
        }
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
          if (!ReadSome(conn, nullptr)) return;
          Handshake(conn);
        }
        return;
      case Conn::State::kBusy:
        if (ev & EPOLLOUT) {
          if (!Flush(conn)) return;
          SetEvents(conn, kReadEvents);
        }
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) OnReadable(conn);
        return;
      case Conn::State::kIdle:
        // An idle connection has nothing to say: the server closed it (or broke
        // the protocol). Either way it cannot be reused.
        return Close(conn);
    }
  }

  // Reads what the socket has into conn->in (decrypting under TLS). Returns
  // false if the connection failed (already handled). *eof set at end of stream.
  bool ReadSome(Conn* conn, bool* eof) {
    char buf[kReadChunk];
    ssize_t n;
    do {
      n = recv(conn->fd, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      ConnFailed(conn, std::string("receive failed: ") + std::strerror(errno), false);
      return false;
    }
    if (n == 0) {
      if (eof != nullptr) {
        *eof = true;
        return true;
      }
      ConnFailed(conn, "the server closed the connection", false);
      return false;
    }
    if (!conn->tls) {
      conn->in.append(buf, static_cast<size_t>(n));
      return true;
    }
    conn->tls->Feed(buf, static_cast<size_t>(n));
    if (conn->state == Conn::State::kHandshake) return true;
    TlsSession::Progress p = conn->tls->Read(conn->in);
    if (p == TlsSession::Progress::kClosed) {
      if (eof != nullptr) *eof = true;
      return true;
    }
    if (p == TlsSession::Progress::kError) {
      ConnFailed(conn, conn->tls->error(), false);
      return false;
    }
    conn->tls->TakeOutput(conn->out);  // e.g. a key update's reply
    return conn->out.empty() || Flush(conn);
  }

  void Handshake(Conn* conn) {
    TlsSession::Progress p = conn->tls->Handshake();
    conn->tls->TakeOutput(conn->out);
    if (!conn->out.empty() && !Flush(conn)) return;
    if (p == TlsSession::Progress::kDone) return Start(conn, conn->call);
    if (p != TlsSession::Progress::kWantInput) {
      ConnFailed(conn, "TLS with " + conn->pool->url.host + ": " + conn->tls->error(), false);
    }
  }

  void OnReadable(Conn* conn) {
    bool eof = false;
    if (!ReadSome(conn, &eof)) return;
    if (!conn->in.empty()) conn->got_response = true;
    if (!Parse(conn)) return;
    if (!eof) return;
    // End of stream: completes a close-delimited body, fails anything else.
    if (conn->parser && conn->parser->got_some() && conn->parser->is_header_done()) {
      boost::beast::error_code ec;
      conn->parser->put_eof(ec);
      if (!ec && conn->parser->is_done()) return Complete(conn, false);
    }
    ConnFailed(conn, "the server closed the connection before the response was complete",
               false);
  }

  // Feeds conn->in to the parser. False if the call completed or failed.
  bool Parse(Conn* conn) {
    size_t used_total = 0;
    while (used_total < conn->in.size()) {
      boost::beast::error_code ec;
      size_t used = conn->parser->put(
          boost::asio::buffer(conn->in.data() + used_total, conn->in.size() - used_total), ec);
      used_total += used;
      if (ec == http::error::need_more) break;
      if (ec) {
        ConnFailed(conn, "bad HTTP response: " + ec.message(), false);
        return false;
      }
      if (conn->parser->is_done()) {
        int status = conn->parser->get().result_int();
        if (status >= 100 && status < 200 && status != 101) {  // informational: next one
          const bool head = conn->call->request.method == "HEAD";
          conn->parser.emplace();
          conn->parser->body_limit(boost::none);
          conn->parser->eager(true);
          if (head) conn->parser->skip(true);
          continue;
        }
        const bool leftover = used_total < conn->in.size();
        conn->in.clear();
        Complete(conn, !leftover && conn->parser->keep_alive());
        return false;
      }
      if (used == 0) break;
    }
    conn->in.erase(0, used_total);
    return true;
  }

  void Complete(Conn* conn, bool keep) {
    Call* c = conn->call;
    Parser::value_type& msg = conn->parser->get();
    HttpResponse r;
    r.status = msg.result_int();
    for (const auto& f : msg) {
      std::string name(f.name_string());
      LowerInPlace(name);
      r.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.body = std::move(msg.body());
    r.total_seconds = static_cast<double>(NowUs() - c->start_us) / 1e6;
    conn->parser.reset();
    conn->call = nullptr;
    c->conn = nullptr;
    Pool* p = conn->pool;
    if (keep) {
      conn->state = Conn::State::kIdle;
      conn->reused = true;
      SetEvents(conn, kReadEvents);
      p->idle.push_back(conn);
      Pump(p);
    } else {
      Close(conn);
    }
    Finish(c, std::move(r));
  }

  // ---- endings --------------------------------------------------------------

  // The connection broke (or timed out connecting). Its request, if any, is
  // sent again once when nothing of its response came on a reused connection.
  void ConnFailed(Conn* conn, const std::string& why, bool timeout) {
    Call* c = conn->call;
    const bool resend = c != nullptr && conn->reused && !conn->got_response && !c->resent;
    const bool next_address = c != nullptr && conn->state == Conn::State::kConnecting &&
                              !timeout && c->connect_tries < conn->pool->addrs.size();
    if (c != nullptr) {
      c->conn = nullptr;
      conn->call = nullptr;
    }
    Close(conn);
    if (c == nullptr) return;
    if (resend) {
      c->resent = true;
      return Dispatch(c);
    }
    if (next_address) return Dispatch(c);
    std::string msg = c->what + " failed: " + why;
    FailCall(c, timeout ? Status::Timeout(msg) : Status::Unavailable(msg));
  }

  void Close(Conn* conn) {
    Pool* p = conn->pool;
    loop.UnwatchFd(conn->fd);
    close(conn->fd);
    if (conn->connect_timer) loop.CancelTimer(conn->connect_timer);
    if (conn->state == Conn::State::kIdle) {
      for (size_t i = 0; i < p->idle.size(); ++i) {
        if (p->idle[i] == conn) {
          p->idle.erase(p->idle.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
    }
    --p->total;
    conns.erase(conn);
    delete conn;
    Pump(p);
  }

  void OnCallTimeout(Call* c) {
    c->timer = 0;
    if (c->conn != nullptr) {
      Conn* conn = c->conn;
      conn->call = nullptr;
      c->conn = nullptr;
      Close(conn);  // mid-request: the connection cannot carry another one
    } else {
      auto& w = c->pool->waiting;
      for (auto it = w.begin(); it != w.end(); ++it) {
        if (*it == c) {
          w.erase(it);
          break;
        }
      }
    }
    FailCall(c, Status::Timeout(c->what + " failed: timed out after " +
                                std::to_string(c->request.timeout_ms) + " ms"));
  }

  void FailCall(Call* c, Status s) { Finish(c, Result<HttpResponse>(std::move(s))); }

  void Finish(Call* c, Result<HttpResponse> r) {
    if (c->timer) loop.CancelTimer(c->timer);
    calls.erase(c);
    loop.AddPending(-1);
    Done done = std::move(c->done);
    delete c;
    done(std::move(r));
  }
};

Http1Client::Http1Client(EventLoop& loop, Options options, std::unique_ptr<HttpClient> fallback)
    : impl_(std::make_unique<Impl>(loop, std::move(options), std::move(fallback))) {}

Http1Client::~Http1Client() = default;

void Http1Client::Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) {
  impl_->Send(std::move(request), std::move(done));
}

int64_t Http1Client::connections_opened() const { return impl_->opened; }

std::unique_ptr<HttpClient> MakeInvokeHttpClient(EventLoop& loop, long max_host_connections) {
  CurlHttpClient::Options co;
  co.max_host_connections = max_host_connections;
  Http1Client::Options ho;
  ho.max_connections_per_host = static_cast<int>(max_host_connections);
  return std::make_unique<Http1Client>(loop, ho, std::make_unique<CurlHttpClient>(loop, co));
}

}  // namespace parallelagram
