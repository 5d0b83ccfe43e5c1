// Http1Connection: one HTTP/1.1 client connection on an IoLoop, carrying
// one Http1Call at a time: a non-blocking TCP socket (TCP_NODELAY, keepalive
// probes when the request asks), TLS over it through a TlsSession when the URL
// is https, the request sent with send(), the response read with recv() and
// parsed by Boost.Beast (sized, chunked or close-delimited bodies; 1xx
// responses skipped; HEAD), and the connect timeout. It knows nothing of pools,
// queues or resends: it reports to its Listener, which decides.
//
// Life: Open() starts connecting for a call; once connected (and, under TLS,
// after the handshake) it sends that call. When a response is complete the
// connection either stays open, idle, ready for Start(), or is to be closed.
//
// Ownership: the caller owns the connection; deleting it stops watching the
// socket, closes it and cancels the connect timer. It borrows the loop, the
// listener, the URL and its current call, which must outlive it (the call:
// until it is handed back or DetachCall()).
//
// Errors: every failure (connect, TLS, send or receive, a malformed response,
// the server closing early, the connect timeout) is reported once to
// Listener::OnFailed, as a one-line reason that never holds a header value; so
// is an idle connection becoming readable (the server closed it: it cannot be
// reused). After OnResponse or OnFailed the connection does nothing until the
// listener deletes it, Start()s it again (when idle) or it becomes readable.
//
// Thread-safety: loop thread only. Listener methods are called on the loop
// thread, from the loop's callbacks or synchronously from Open() and Start();
// in OnResponse and OnFailed the listener may delete the connection.
#pragma once

#include <sys/socket.h>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/http1_request.h"
#include "http/io_loop.h"
#include "http/tls_session.h"

namespace parallelagram {

class Http1Connection final : public IoLoop::FdWatcher {
 public:
  enum class State { kConnecting, kHandshake, kBusy, kIdle };

  class Listener {
   public:
    // The TLS context for a handshake about to start; a failure fails the
    // connection with its message.
    virtual Result<std::shared_ptr<TlsContext>> TlsContextForHandshake() = 0;
    // TCP connected (before any TLS handshake).
    virtual void OnConnected(Http1Connection* conn) = 0;
    // `call`'s response is complete and `call` is no longer the connection's.
    // `keep`: the connection is now idle and may carry another call; else the
    // listener must delete it.
    virtual void OnResponse(Http1Connection* conn, Http1Call* call, HttpResponse response,
                            bool keep) = 0;
    // The connection broke (`timeout`: its connect timer expired); call()
    // still names the call it carried, if any. The listener must delete it.
    virtual void OnFailed(Http1Connection* conn, const std::string& why, bool timeout) = 0;

   protected:
    ~Listener() = default;
  };

  // Opens a socket to `addr` and starts connecting it for `call` (its
  // tcp_keepalive and connect_timeout_ms apply; its bytes are sent once
  // connected). `url` says whether to use TLS and the host to verify;
  // `addr_index` is kept for the listener (addr_index()). Fails, with nothing
  // left open, with kIoError "cannot create a socket: ..." or kUnavailable
  // "cannot connect: ..." (another address may do better).
  static Result<std::unique_ptr<Http1Connection>> Open(IoLoop& loop, Listener* listener,
                                                       const Http1Url* url, const sockaddr* addr,
                                                       socklen_t addr_len, size_t addr_index,
                                                       Http1Call* call);
  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // Sends `call` on this connected, idle connection (or fails it through the
  // listener, synchronously if the send fails at once).
  void Start(Http1Call* call);
  // Forgets the current call (its response, if any, is no longer wanted).
  void DetachCall() { call_ = nullptr; }

  Http1Call* call() const { return call_; }
  State state() const { return state_; }
  size_t addr_index() const { return addr_index_; }
  // It carried a request before the current one.
  bool reused() const { return reused_; }
  // A byte of the current call's response arrived.
  bool got_response() const { return got_response_; }

  void OnFdReady(uint32_t events) override;

 private:
  using Parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

  Http1Connection(IoLoop& loop, Listener* listener, const Http1Url* url, int fd, size_t addr_index);
  void Fail(const std::string& why, bool timeout) { listener_->OnFailed(this, why, timeout); }
  void SetEvents(uint32_t events);
  void NewParser();
  bool Flush();
  bool ReadSome(bool* eof);
  void Handshake();
  void OnReadable();
  bool Parse();
  void Complete(bool keep);

  IoLoop& loop_;
  Listener* const listener_;
  const Http1Url* const url_;
  const int fd_;
  const size_t addr_index_;  // in the listener's list of addresses
  State state_ = State::kConnecting;
  std::unique_ptr<TlsSession> tls_;
  Http1Call* call_ = nullptr;
  std::string out_;  // bytes to send (ciphertext under TLS)
  size_t out_off_ = 0;
  std::string in_;  // plaintext received, not yet parsed
  std::optional<Parser> parser_;
  bool reused_ = false;
  bool got_response_ = false;
  uint32_t events_ = 0;
  IoLoop::TimerId connect_timer_ = 0;
};

}  // namespace parallelagram
