// AwsSession: what a command needs to call AWS, resolved once the way the AWS SDKs do:
// the region, each service's endpoint, and the credentials (with their sources), plus one
// I/O loop and HTTP client that every service client of the session shares.
//
// Ownership: the session owns the loop, the HTTP client and the AwsClients it hands out
// (references stay valid for the session's life). Thread-safety: use from one thread; the
// loop runs only inside the *AndWait/RunUntilDone calls made on that thread.
// Errors name what is missing and where it was looked for; never a secret.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "aws/aws_client.h"
#include "aws/aws_config.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "http/http_client.h"
#include "http/io_loop.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

class AwsSession {
 public:
  // Resolves region, the endpoints of s3, lambda, iam and sts, and the credentials
  // provider from `env` and the shared config files. The credentials are not fetched yet.
  // Errors: InvalidArgument (bad config file, no region: "set AWS_REGION ..."),
  // the credential chain's errors (no credentials: says which sources were tried).
  // With `loop`, the session's clients run on that (borrowed) loop, which must outlive the
  // session: the driver shares its own loop this way. Without it the session owns one.
  static Result<std::unique_ptr<AwsSession>> Open(const Environment& env, IoLoop* loop = nullptr);

  const std::string& region() const { return region_.region; }
  const std::string& region_source() const { return region_.source; }
  const Endpoint& endpoint(const std::string& service) const { return endpoints_.at(service); }

  // The client for `service` ("s3", "lambda", "iam", "sts"), made on first use. Its
  // signer() signs requests sent around it (same credentials, same clock-skew correction).
  AwsClient& Client(const std::string& service);
  // The credentials now (fetching or refreshing them). Errors name the source.
  Result<Credentials> GetCredentials() { return credentials_->Get(); }
  // An S3 client is path-style on custom endpoints, virtual-hosted on AWS.
  bool s3_path_style() const { return endpoints_.at("s3").custom; }

  IoLoop& loop() { return loop_; }
  HttpClient& http() { return http_; }
  // The credentials provider (for signing requests that bypass the AwsClients).
  std::shared_ptr<RefreshingCredentials> credentials() const { return credentials_; }

  // Runs the loop until the operation started by `start` completes.
  template <typename T, typename Start>
  AwsResult<T> Wait(Start&& start) {
    return RunUntilDone<T>(loop_, std::forward<Start>(start));
  }

 private:
  AwsSession(Environment env, IoLoop* loop)
      : env_(std::move(env)),
        own_loop_(loop ? nullptr : std::make_unique<IoLoop>()),
        loop_(loop ? *loop : *own_loop_),
        http_(loop_) {}

  Environment env_;                     // kept: providers may refer to it
  std::optional<SharedConfig> config_;  // likewise
  ResolvedRegion region_;
  std::map<std::string, Endpoint> endpoints_;
  std::shared_ptr<RefreshingCredentials> credentials_;
  std::unique_ptr<IoLoop> own_loop_;  // null when the loop is borrowed
  IoLoop& loop_;
  CurlHttpClient http_;
  std::map<std::string, std::unique_ptr<AwsClient>> clients_;
};

}  // namespace parallelagram::aws
