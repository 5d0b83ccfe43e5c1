// Http1Pools: Http1Client's connections, one pool per scheme, host and port.
// A call goes to an idle connection of its pool, else to a new one while the
// pool is under its cap (Options::max_connections_per_host), else it waits in
// the pool's queue, served in order as connections come free. Host names are
// resolved on a helper thread (one per lookup, at most one per pool at a time)
// and cached for Options::dns_ttl_ms; IP literals need no lookup. A new
// connection tries the address that last worked first, then the others (IPv4
// before IPv6). A call that fails on a reused connection before any byte of its
// response came is sent once more; a connect failure moves on to the next
// address.
//
// Ownership: owns its pools and every connection (Http1Connection); borrows
// the loop (which must outlive it) and the calls (Http1Call), until it hands
// each back through `finish`. Destroying it closes all connections without
// calling `finish` and waits for lookups in progress to return.
//
// Errors: through `finish`, once per call: kUnavailable "<what> failed: ..."
// (a name that does not resolve, a refused or broken connection) or kTimeout
// (the connect timeout). Messages name the host, never a header value.
//
// Thread-safety: loop thread only (the lookup threads only Post to the loop).
// `finish` is called on the loop thread, also synchronously from Send() and
// Abandon(); it may call Send() again.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/http1_request.h"
#include "http/io_loop.h"
#include "http/tls_session.h"

namespace parallelagram {

class Http1Pools {
 public:
  struct Options {
    int max_connections_per_host = 0;  // 0: unlimited
    int64_t dns_ttl_ms = 60000;
    std::string ca_file;  // for TlsContext::Create, when the first TLS connection needs it
  };
  // Hands a call back with its response or failure; the pools no longer hold it.
  using Finish = std::function<void(Http1Call* call, Result<HttpResponse> result)>;

  Http1Pools(IoLoop& loop, Options options, Finish finish);
  ~Http1Pools();
  Http1Pools(const Http1Pools&) = delete;
  Http1Pools& operator=(const Http1Pools&) = delete;

  // Sends `call` (its wire and what set) to `url`'s scheme, host and port: the
  // pool is made on first use and kept for the pools' life.
  void Send(Http1Call* call, Http1Url url);
  // Takes `call` back without finishing it (its timeout fired): it leaves its
  // pool's queue, or its connection, which is closed (the answer is half read).
  void Abandon(Http1Call* call);

  // Connections opened so far.
  int64_t connections_opened() const { return opened_; }

 private:
  friend class Http1Pool;  // each pool is the Listener of its connections

  // Gives `c` an idle connection, a new one under the cap, or a place in the queue.
  void Place(Http1Call* c);
  void ServeWaiting(Http1Pool* p);
  void Resolve(Http1Pool* p);
  void OnResolved(uint64_t id, Http1Pool* p, std::vector<sockaddr_storage> addrs,
                  std::vector<socklen_t> lens, const std::string& err);
  void Open(Http1Pool* p, Http1Call* c);
  void OnResponse(Http1Pool* p, Http1Connection* conn, Http1Call* c, HttpResponse r, bool keep);
  void ConnFailed(Http1Pool* p, Http1Connection* conn, const std::string& why, bool timeout);
  void Close(Http1Pool* p, Http1Connection* conn);
  Result<std::shared_ptr<TlsContext>> TlsContextForHandshake();
  void Fail(Http1Call* c, Status s) { finish_(c, Result<HttpResponse>(std::move(s))); }

  IoLoop& loop_;
  const Options options_;
  const Finish finish_;
  std::shared_ptr<TlsContext> tls_ctx_;  // made when first needed
  std::unordered_map<std::string, std::unique_ptr<Http1Pool>> pools_;
  std::unordered_set<Http1Connection*> conns_;           // owned
  std::unordered_map<uint64_t, std::thread> resolvers_;  // DNS lookups in progress
  uint64_t next_resolver_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the pools
  int64_t opened_ = 0;
};

}  // namespace parallelagram
