#include "http/http1_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace parallelagram {
namespace {

namespace http = boost::beast::http;

constexpr size_t kReadChunk = 65536;
constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;

}  // namespace

Result<std::unique_ptr<Http1Connection>> Http1Connection::Open(IoLoop& loop, Listener* listener,
                                                               const Http1Url* url,
                                                               const sockaddr* addr,
                                                               socklen_t addr_len,
                                                               size_t addr_index, Http1Call* call) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Status::IoError(std::string("cannot create a socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (call->request.tcp_keepalive) {
    int idle = 60;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
  }
  if (connect(fd, addr, addr_len) != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return Status::Unavailable(std::string("cannot connect: ") + std::strerror(e));
  }
  std::unique_ptr<Http1Connection> conn(new Http1Connection(loop, listener, url, fd, addr_index));
  conn->call_ = call;
  conn->SetEvents(EPOLLOUT);
  if (call->request.connect_timeout_ms > 0) {
    Http1Connection* c = conn.get();
    c->connect_timer_ = loop.AddTimer(call->request.connect_timeout_ms, [c]() {
      c->connect_timer_ = 0;
      c->Fail("connection timed out after " +
                  std::to_string(c->call_ ? c->call_->request.connect_timeout_ms : 0) + " ms",
              true);
    });
  }
  return Result<std::unique_ptr<Http1Connection>>(std::move(conn));
}

Http1Connection::Http1Connection(IoLoop& loop, Listener* listener, const Http1Url* url, int fd,
                                 size_t addr_index)
    : loop_(loop), listener_(listener), url_(url), fd_(fd), addr_index_(addr_index) {}

Http1Connection::~Http1Connection() {
  loop_.UnwatchFd(fd_);
  close(fd_);
  if (connect_timer_) loop_.CancelTimer(connect_timer_);
}

void Http1Connection::SetEvents(uint32_t ev) {
  if (events_ == ev) return;
  events_ = ev;
  loop_.WatchFd(fd_, ev, this);
}

void Http1Connection::NewParser() {
  const bool head = call_->request.method == "HEAD";
  parser_.emplace();
  parser_->body_limit(boost::none);
  parser_->eager(true);
  if (head) parser_->skip(true);
}

void Http1Connection::Start(Http1Call* c) {
  call_ = c;
  state_ = State::kBusy;
  got_response_ = false;
  in_.clear();
  NewParser();
  out_.clear();
  out_off_ = 0;
  if (tls_) {
    Status s = tls_->Write(c->wire);
    if (!s.ok()) return Fail(s.message(), false);
    tls_->TakeOutput(out_);
  } else {
    out_ = c->wire;
  }
  if (Flush()) SetEvents(kReadEvents);
}

// Sends what is pending. False when it must wait for EPOLLOUT or failed.
bool Http1Connection::Flush() {
  while (out_off_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_off_, out_.size() - out_off_, MSG_NOSIGNAL);
    if (n > 0) {
      out_off_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetEvents(kReadEvents | EPOLLOUT);
      return false;
    }
    Fail(std::string("send failed: ") + std::strerror(errno), false);
    return false;
  }
  out_.clear();
  out_off_ = 0;
  return true;
}

void Http1Connection::OnFdReady(uint32_t ev) {
  switch (state_) {
    case State::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0 && (ev & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
      if (err != 0) return Fail(std::string("cannot connect: ") + std::strerror(err), false);
      if (!(ev & EPOLLOUT)) return;
      if (connect_timer_) {
        loop_.CancelTimer(connect_timer_);
        connect_timer_ = 0;
      }
      listener_->OnConnected(this);
      if (url_->tls) {
        auto ctx = listener_->TlsContextForHandshake();
        if (!ctx.ok()) return Fail(ctx.status().message(), false);
        tls_ = std::make_unique<TlsSession>(*ctx, url_->host);
        state_ = State::kHandshake;
        SetEvents(kReadEvents);
        return Handshake();
      }
      return Start(call_);
    }
    case State::kHandshake:
      if (ev & EPOLLOUT) {
        if (!Flush()) return;
        SetEvents(kReadEvents);
      }
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        if (!ReadSome(nullptr)) return;
        Handshake();
      }
      return;
    case State::kBusy:
      if (ev & EPOLLOUT) {
        if (!Flush()) return;
        SetEvents(kReadEvents);
      }
      if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) OnReadable();
      return;
    case State::kIdle:
      // An idle connection has nothing to say: the server closed it (or broke
      // the protocol). Either way it cannot be reused.
      return Fail("the server closed an idle connection", false);
  }
}

// Reads what the socket has into in_ (decrypting under TLS). Returns false if
// the connection failed (already reported). *eof set at end of stream.
bool Http1Connection::ReadSome(bool* eof) {
  char buf[kReadChunk];
  ssize_t n;
  do {
    n = recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    Fail(std::string("receive failed: ") + std::strerror(errno), false);
    return false;
  }
  if (n == 0) {
    if (eof != nullptr) {
      *eof = true;
      return true;
    }
    Fail("the server closed the connection", false);
    return false;
  }
  if (!tls_) {
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  tls_->Feed(buf, static_cast<size_t>(n));
  if (state_ == State::kHandshake) return true;
  TlsSession::Progress p = tls_->Read(in_);
  if (p == TlsSession::Progress::kClosed) {
    if (eof != nullptr) *eof = true;
    return true;
  }
  if (p == TlsSession::Progress::kError) {
    Fail(tls_->error(), false);
    return false;
  }
  tls_->TakeOutput(out_);  // e.g. a key update's reply
  return out_.empty() || Flush();
}

void Http1Connection::Handshake() {
  TlsSession::Progress p = tls_->Handshake();
  tls_->TakeOutput(out_);
  if (!out_.empty() && !Flush()) return;
  if (p == TlsSession::Progress::kDone) return Start(call_);
  if (p != TlsSession::Progress::kWantInput) {
    Fail("TLS with " + url_->host + ": " + tls_->error(), false);
  }
}

void Http1Connection::OnReadable() {
  bool eof = false;
  if (!ReadSome(&eof)) return;
  if (!in_.empty()) got_response_ = true;
  if (!Parse()) return;
  if (!eof) return;
  // End of stream: completes a close-delimited body, fails anything else.
  if (parser_ && parser_->got_some() && parser_->is_header_done()) {
    boost::beast::error_code ec;
    parser_->put_eof(ec);
    if (!ec && parser_->is_done()) return Complete(false);
  }
  Fail("the server closed the connection before the response was complete", false);
}

// Feeds in_ to the parser. False if the call completed or failed.
bool Http1Connection::Parse() {
  size_t used_total = 0;
  while (used_total < in_.size()) {
    boost::beast::error_code ec;
    size_t used =
        parser_->put(boost::asio::buffer(in_.data() + used_total, in_.size() - used_total), ec);
    used_total += used;
    if (ec == http::error::need_more) break;
    if (ec) {
      Fail("bad HTTP response: " + ec.message(), false);
      return false;
    }
    if (parser_->is_done()) {
      int status = parser_->get().result_int();
      if (status >= 100 && status < 200 && status != 101) {  // informational: next one
        NewParser();
        continue;
      }
      const bool leftover = used_total < in_.size();
      in_.clear();
      Complete(!leftover && parser_->keep_alive());
      return false;
    }
    if (used == 0) break;
  }
  in_.erase(0, used_total);
  return true;
}

void Http1Connection::Complete(bool keep) {
  Http1Call* c = call_;
  Parser::value_type& msg = parser_->get();
  HttpResponse r;
  r.status = msg.result_int();
  for (const auto& f : msg) {
    std::string name(f.name_string());
    LowerAsciiInPlace(name);
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = std::move(msg.body());
  r.total_seconds = static_cast<double>(SteadyMicros() - c->start_us) / 1e6;
  parser_.reset();
  call_ = nullptr;
  if (keep) {
    state_ = State::kIdle;
    reused_ = true;
    SetEvents(kReadEvents);
  }
  listener_->OnResponse(this, c, std::move(r), keep);
}

}  // namespace parallelagram
