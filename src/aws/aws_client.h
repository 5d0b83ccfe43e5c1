// AwsClient: the request core shared by the S3, Lambda, IAM and STS clients.
// It takes an HttpRequest for one service, signs it (SigV4) with credentials
// from a provider, sends it on an HttpClient, parses an AWS error for the
// service's wire protocol, and retries per the SDKs' standard mode (retry.h),
// re-signing each attempt with the clock-skew-corrected time. Signing is done by a
// Signer (signer.h), which may be shared with code that sends its own requests to the
// same service (the Lambda invokers): a clock skew learnt here is used there too.
//
// Thread-safety: not thread-safe; use it on its IoLoop's thread only.
// Lifetime: borrows `loop` and `http`; both, and the AwsClient itself, must
// outlive every call in flight (`done` is called on the loop thread, exactly
// once, never from inside Send()).
// Secrets: credentials are only used to sign; errors name the credentials'
// `source`, never a key or token.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aws/aws_error.h"
#include "aws/credentials.h"
#include "aws/retry.h"
#include "aws/signer.h"
#include "common/clock.h"
#include "http/http_client.h"
#include "http/io_loop.h"

namespace parallelagram::aws {

struct ServiceConfig {
  std::string service;   // signing name: "lambda", "s3", "iam", "sts"
  std::string region;    // signing region ("us-east-1" for iam)
  std::string endpoint;  // "https://lambda.us-east-1.amazonaws.com" or "http://127.0.0.1:5000"
  AwsProtocol protocol = AwsProtocol::kRestJson;
  bool s3_rules = false;  // S3 signing rules (no path normalisation, single encoding)
};

struct AwsRequest {
  std::string operation;  // "Invoke", "GetObject", ... (for error messages)
  // `http.url` is either a path with query ("/2015-03-31/functions/f?Qualifier=1",
  // already percent-encoded the AWS way), appended to the endpoint, or an absolute
  // URL (e.g. an S3 virtual-hosted one). Other fields are sent as given.
  HttpRequest http;
  int max_attempts = 0;           // 0: the client's RetryOptions::max_attempts; 1: no retries
  bool unsigned_payload = false;  // sign "UNSIGNED-PAYLOAD" (S3 over TLS)
  std::string payload_hash;       // precomputed hex SHA-256 of the body; "": computed once
  bool anonymous = false;         // send unsigned, without credentials
                                  // (STS AssumeRoleWithWebIdentity)
};

// Form-encodes query-protocol parameters (IAM, STS) as a POST to "/":
// body "Action=<action>&Version=<version>&k=v..." with values encoded as
// UriEncode does, Content-Type application/x-www-form-urlencoded; charset=utf-8.
AwsRequest MakeQueryRequest(const std::string& action, const std::string& version,
                            const std::vector<std::pair<std::string, std::string>>& params);

// Runs `loop` until `start`'s callback has fired, and returns what it got.
// For tools and synchronous callers; not from inside a loop callback.
template <typename T, typename Start>
AwsResult<T> RunUntilDone(IoLoop& loop, Start&& start) {
  std::optional<AwsResult<T>> out;
  start([&out](AwsResult<T> r) { out.emplace(std::move(r)); });
  while (!out) loop.RunOnce(1000);
  return std::move(*out);
}

class AwsClient {
 public:
  // Runs `fn` after `delay_ms` on the loop thread (tests replace it to skip waiting).
  using Scheduler = std::function<void(int64_t delay_ms, std::function<void()> fn)>;
  struct Options {
    RetryOptions retry;
    const Clock* clock = &SystemClock::Get();  // signing time and skew (the signer's clock
                                               // when one is given); must outlive the client
    Scheduler schedule;                        // empty: loop.AddTimer
    int64_t request_timeout_ms = 0;  // per attempt, for requests whose http.timeout_ms is 0
  };

  AwsClient(IoLoop& loop, HttpClient& http, CredentialsFn credentials, ServiceConfig config);
  AwsClient(IoLoop& loop, HttpClient& http, CredentialsFn credentials, ServiceConfig config,
            Options options);
  // Signs with `signer` (shared; its service, region and s3_rules must match `config`'s).
  // The credentials provider is called once per attempt.
  AwsClient(IoLoop& loop, HttpClient& http, std::shared_ptr<Signer> signer, ServiceConfig config,
            Options options);
  ~AwsClient();
  AwsClient(const AwsClient&) = delete;
  AwsClient& operator=(const AwsClient&) = delete;

  // Sends `request` with retries. A 2xx response is a value; anything else is an
  // AwsError whose status message reads
  // "<service> <operation>: <Code>: <message> (HTTP n, request id x)"
  // plus "; credentials from <source>" for auth failures.
  void Send(AwsRequest request, std::function<void(AwsResult<HttpResponse>)> done);

  // Sends and runs the loop until done. Not from inside a loop callback.
  AwsResult<HttpResponse> SendAndWait(AwsRequest request);

  const ServiceConfig& config() const { return config_; }
  RetryPolicy& retry_policy() { return retry_; }
  // The signer, to sign requests sent around this client with the same credentials and
  // clock-skew correction.
  const std::shared_ptr<Signer>& signer() const { return signer_; }
  IoLoop& loop() { return loop_; }

  struct Call;

 private:
  void Attempt(std::shared_ptr<Call> call);
  void OnResponse(std::shared_ptr<Call> call, Result<HttpResponse> r);
  void Fail(std::shared_ptr<Call> call, AwsError error);

  IoLoop& loop_;
  HttpClient& http_;
  ServiceConfig config_;
  std::shared_ptr<Signer> signer_;
  Options options_;
  RetryPolicy retry_;
};

}  // namespace parallelagram::aws
