// TlsSession: one TLS client session (OpenSSL) over memory buffers, so the
// caller owns the socket and every system call: it feeds the bytes it received
// with Feed() and sends what TakeOutput() returns. Nothing here blocks or
// touches a file descriptor.
//
// TlsContext holds the verification setup shared by sessions: the peer's
// certificate chain must verify against the CA bundle and name the host
// (SSL_set1_host), SNI is sent for host names, TLS 1.2 is the minimum.
//
// Thread-safety: a TlsContext may be shared by sessions on one thread; a
// TlsSession is used by one thread. Errors are one-line texts from OpenSSL's
// queue or the verification result (never key material).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "parallelagram/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace parallelagram {

class TlsContext {
 public:
  // `ca_file`: a PEM bundle to trust; "" uses OpenSSL's default locations (which
  // honour SSL_CERT_FILE and SSL_CERT_DIR). Fails with kInvalidArgument naming
  // the file when it cannot be loaded.
  static Result<std::shared_ptr<TlsContext>> Create(const std::string& ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

class TlsSession {
 public:
  enum class Progress { kDone, kWantInput, kClosed, kError };

  // `host`: the name (or IP literal) the certificate must be valid for.
  TlsSession(std::shared_ptr<TlsContext> ctx, const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext received from the peer.
  void Feed(const char* data, size_t n);
  // Advances the handshake. kDone once it is complete and the peer verified.
  Progress Handshake();
  // Encrypts all of `plain` into the output (memory never pushes back).
  Status Write(std::string_view plain);
  // Appends the plaintext that can be decrypted now to `out`. kWantInput: need
  // more ciphertext; kClosed: the peer sent close_notify; kError: see error().
  Progress Read(std::string& out);
  // Moves the ciphertext waiting to be sent to the end of `out`.
  void TakeOutput(std::string& out);
  // What went wrong after kError (certificate problems named as such).
  std::string error() const { return error_; }

 private:
  Progress Fail(int ret, const char* what);

  std::shared_ptr<TlsContext> ctx_;
  SSL* ssl_ = nullptr;
  void* in_bio_ = nullptr;   // BIO*: ciphertext from the peer (owned by ssl_)
  void* out_bio_ = nullptr;  // BIO*: ciphertext to the peer (owned by ssl_)
  std::string error_;
};

}  // namespace parallelagram
