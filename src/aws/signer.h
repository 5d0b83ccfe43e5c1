// Signer: SigV4 header signing for one service, shared by everything that sends requests to
// it: the service's AwsClient and the code that builds requests around AwsClient (the
// Lambda invokers). All of them then sign with the same credentials provider and the same
// clock-skew correction (the offset between AWS's clock and ours, learnt from clock-skew
// errors by whoever sees one, see SetClockSkewMs).
//
// What is signed (sigv4.h has the canonical forms):
//  - S3 (Config::s3_rules): x-amz-content-sha256 always sent and signed (the body's hash,
//    or UNSIGNED-PAYLOAD), as botocore's S3SigV4Auth;
//  - Lambda requests with a body (Invoke, CreateFunction, ...): no x-amz-content-sha256, as
//    botocore's SigV4Auth (the body's hash is only inside the signature): 107 bytes fewer to
//    send per invoke, which libcurl 7.88 formats one byte at a time;
//  - every other request keeps the header (botocore sends none, AWS accepts both): moto's
//    signature check needs it, as it hashes a GET's query string as its body and a query
//    protocol (IAM, STS) body in its own re-encoding when the header is absent.
// Per request: one SHA-256 of the canonical request, one HMAC, and the body's hash (unless
// given). The derived signing key is cached per thread (sigv4.cc); the credentials are not
// copied (the provider hands out a shared immutable value).
//
// Thread-safety: every method may be called from any thread (the credentials provider must
// be thread-safe, as RefreshingCredentials is; the skew is atomic).
// Ownership: hold it in a std::shared_ptr; it owns its provider function.
// Secrets: errors name the credentials' source, never a key or token.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aws/aws_error.h"
#include "aws/credentials.h"
#include "aws/sigv4.h"
#include "common/clock.h"
#include "http/http_client.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

// Returns the credentials to sign with now (cached and refreshed by the provider as it sees
// fit), shared and immutable: holding the pointer keeps them valid.
using CredentialsFn = std::function<Result<std::shared_ptr<const Credentials>>()>;

// A provider that always returns `c` (tests, tools).
CredentialsFn StaticCredentials(Credentials c);

class Signer {
 public:
  struct Config {
    std::string service;    // signing name: "lambda", "s3", "iam", "sts"
    std::string region;     // signing region ("us-east-1" for iam)
    bool s3_rules = false;  // S3 signing rules (no path normalisation, single encoding)
    const Clock* clock = &SystemClock::Get();  // must outlive the signer
  };
  struct Options {
    bool unsigned_payload = false;  // sign "UNSIGNED-PAYLOAD" (S3 over TLS)
    std::string_view payload_hash;  // precomputed hex SHA-256 of the body; empty: computed
  };

  Signer(CredentialsFn credentials, Config config);

  // The credentials to sign with now (the provider's errors, which name their source).
  Result<std::shared_ptr<const Credentials>> GetCredentials() const { return credentials_(); }

  // Signs `request` (an absolute url) in place for NowEpochMs(), replacing any earlier
  // signature (a retried request can be signed again). `result` (optional) receives the
  // pieces (canonical request, payload hash, ...). Errors: an unparseable url or an
  // unreadable body_file.
  Status Sign(HttpRequest& request, const Credentials& credentials, const Options& options,
              SigningResult* result = nullptr) const;
  // GetCredentials() then Sign() with default Options. On a credentials error the request
  // is left unsigned.
  Status Sign(HttpRequest& request) const;

  // Our best estimate of AWS's clock (our clock plus the skew), in epoch milliseconds.
  int64_t NowEpochMs() const { return config_.clock->NowEpochMs() + clock_skew_ms(); }
  // Server time minus our time, added to the signing time of every later request.
  void SetClockSkewMs(int64_t skew_ms) { skew_ms_.store(skew_ms, std::memory_order_relaxed); }
  // For code that sends its own requests (the Lambda invokers): when `response`, a failed
  // answer in `protocol`, is a clock-skew error as the retry policy classifies it
  // (retry.h's ClassifyError: RequestTimeTooSkewed, RequestExpired, InvalidSignatureException
  // "Signature expired", an auth error with a Date far from our clock) and carries a Date
  // header, sets the skew from that Date and returns true: the caller signs the request again
  // and retries it once, as the SDKs do. False otherwise (the skew is untouched).
  bool LearnClockSkew(const HttpResponse& response, AwsProtocol protocol);
  int64_t clock_skew_ms() const { return skew_ms_.load(std::memory_order_relaxed); }

  const Config& config() const { return config_; }

 private:
  CredentialsFn credentials_;
  Config config_;
  std::atomic<int64_t> skew_ms_{0};
};

}  // namespace parallelagram::aws
