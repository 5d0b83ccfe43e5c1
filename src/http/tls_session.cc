#include "http/tls_session.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace parallelagram {
namespace {

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const std::string& ca_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::Internal("cannot create a TLS context: " + OpenSslErrors());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("cannot load the CA bundle " + ca_file +
                                     " (a PEM file of certificates is expected): " +
                                     OpenSslErrors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Status::Internal("cannot load OpenSSL's default CA certificates: " + OpenSslErrors());
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(std::shared_ptr<TlsContext> ctx, const std::string& host)
    : ctx_(std::move(ctx)) {
  ssl_ = SSL_new(ctx_->get());
  if (ssl_ == nullptr) {
    error_ = "cannot create a TLS session: " + OpenSslErrors();
    return;
  }
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);  // empty input means "wait", not end of stream
  SSL_set_bio(ssl_, in, out);
  in_bio_ = in;
  out_bio_ = out;
  if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(ssl_, host.c_str());
  // Checks the certificate's names (or IP addresses) against `host`.
  SSL_set1_host(ssl_, host.c_str());
  SSL_set_connect_state(ssl_);
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs
}

void TlsSession::Feed(const char* data, size_t n) {
  if (ssl_ == nullptr) return;
  BIO_write(static_cast<BIO*>(in_bio_), data, static_cast<int>(n));
}

TlsSession::Progress TlsSession::Fail(int ret, const char* what) {
  int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ) return Progress::kWantInput;
  if (err == SSL_ERROR_ZERO_RETURN) return Progress::kClosed;
  long verify = SSL_get_verify_result(ssl_);
  std::string queue = OpenSslErrors();
  if (verify != X509_V_OK) {
    error_ = std::string("certificate verify failed: ") +
             X509_verify_cert_error_string(verify) +
             " (for a private CA, point AWS_CA_BUNDLE at its PEM file)";
  } else {
    error_ = std::string(what) + ": " + (queue.empty() ? "connection closed" : queue);
  }
  return Progress::kError;
}

TlsSession::Progress TlsSession::Handshake() {
  if (ssl_ == nullptr) return Progress::kError;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) return Progress::kDone;
  return Fail(r, "TLS handshake failed");
}

Status TlsSession::Write(std::string_view plain) {
  if (ssl_ == nullptr) return Status::Unavailable(error_);
  ERR_clear_error();
  size_t written = 0;
  if (!plain.empty() && SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1) {
    Fail(0, "TLS write failed");
    return Status::Unavailable(error_);
  }
  return Status::Ok();
}

TlsSession::Progress TlsSession::Read(std::string& out) {
  if (ssl_ == nullptr) return Progress::kError;
  ERR_clear_error();
  for (;;) {
    size_t old = out.size();
    out.resize(old + 16384);
    size_t got = 0;
    int r = SSL_read_ex(ssl_, out.data() + old, 16384, &got);
    out.resize(old + got);
    if (r != 1) return Fail(r, "TLS read failed");
  }
}

void TlsSession::TakeOutput(std::string& out) {
  if (ssl_ == nullptr) return;
  BIO* b = static_cast<BIO*>(out_bio_);
  size_t pending = BIO_ctrl_pending(b);
  if (pending == 0) return;
  size_t old = out.size();
  out.resize(old + pending);
  int got = BIO_read(b, out.data() + old, static_cast<int>(pending));
  out.resize(old + (got > 0 ? static_cast<size_t>(got) : 0));
}

}  // namespace parallelagram
