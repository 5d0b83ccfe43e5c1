// Credentials: one set of AWS credentials; the provider interface; the
// simple providers (environment, static, credential_process); and
// RefreshingCredentials, the cache every caller should hold.
//
// Credentials is a plain value type. `source` says in words where the
// credentials came from ("environment variables", "profile 'dev' in
// /home/u/.aws/credentials"); it never holds a secret and may be printed.
// Nothing in this layer ever prints secret_access_key or session_token, and
// error messages name the source, never a value.
//
// The chain that picks a provider as the SDKs do is in credentials_chain.h;
// HTTP sources (container, IMDS) are in credentials_http.h; STS sources
// (AssumeRole, web identity) in sts_credentials.h.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aws/aws_config.h"
#include "common/clock.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;        // empty for long-term keys
  int64_t expiration_epoch_ms = 0;  // 0: does not expire
  std::string source;               // human description; never secret

  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
  bool expires() const { return expiration_epoch_ms != 0; }
};

// A source of credentials. Fetch() contacts the source every time (blocking;
// the HTTP sources use a private I/O loop, so Fetch() may be called from
// inside another loop's callback). Implementations are not required to be
// thread-safe: RefreshingCredentials serialises calls.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Fresh credentials, or an error whose message names the source.
  virtual Result<Credentials> Fetch() = 0;
  // Where credentials come from, e.g. "EC2 instance metadata at http://169.254.169.254".
  virtual std::string Describe() const = 0;
};

// Always returns the same credentials.
class StaticCredentialsProvider : public CredentialsProvider {
 public:
  explicit StaticCredentialsProvider(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Fetch() override { return c_; }
  std::string Describe() const override { return c_.source; }

 private:
  Credentials c_;
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (AWS_SECURITY_TOKEN
// accepted as the old name). nullopt when neither key variable is set; an error
// when only one of them is.
Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env);

// Runs `command` with /bin/sh -c (stderr passes through), reads its stdout as
// the credential_process JSON: {"Version": 1, "AccessKeyId", "SecretAccessKey",
// "SessionToken"?, "Expiration"? (ISO 8601)}. `description` names it in errors
// and in Credentials::source, e.g. "credential_process of profile 'x' in /p/config".
class ProcessCredentialsProvider : public CredentialsProvider {
 public:
  ProcessCredentialsProvider(std::string command, std::string description)
      : command_(std::move(command)), description_(std::move(description)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override { return description_; }

 private:
  std::string command_;
  std::string description_;
};

// Parses credential_process output (exposed for tests).
Result<Credentials> ParseProcessCredentials(const std::string& json_text,
                                            const std::string& description);

// Caches a provider's credentials and refreshes them `refresh_before_ms`
// before they expire (5 minutes by default, as the SDKs). If a refresh fails
// while the cached credentials are still valid, they are kept and the next
// Get() tries again. Thread-safe; borrows `clock`, which must outlive it.
class RefreshingCredentials {
 public:
  RefreshingCredentials(std::unique_ptr<CredentialsProvider> provider, const Clock& clock,
                        int64_t refresh_before_ms = 5 * 60 * 1000);
  // Valid credentials, fetching or refreshing as needed.
  Result<Credentials> Get();
  // The same, without copying them: the cached value is shared and immutable (a refresh
  // replaces the pointer; holders of the old one keep a valid object).
  Result<std::shared_ptr<const Credentials>> GetShared();
  // Drops the cache (e.g. after an ExpiredToken answer): the next Get() fetches.
  void Invalidate();
  std::string Describe() const { return provider_->Describe(); }

 private:
  std::unique_ptr<CredentialsProvider> provider_;
  const Clock& clock_;
  int64_t refresh_before_ms_;
  std::mutex mu_;
  std::shared_ptr<const Credentials> cached_;
};

}  // namespace parallelagram::aws
