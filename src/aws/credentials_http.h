// Credential sources reached over HTTP: the ECS/EKS container endpoint and EC2
// instance metadata (IMDSv2). Each Fetch() runs its requests on a private
// IoLoop and CurlHttpClient, blocking the calling thread (at most a few
// timeouts). Not thread-safe; wrap in RefreshingCredentials.
#pragma once

#include <string>

#include "aws/credentials.h"

namespace parallelagram::aws {

// Parses the JSON both sources return: AccessKeyId, SecretAccessKey, Token,
// Expiration (ISO 8601), and for IMDS "Code": "Success".
Result<Credentials> ParseHttpCredentialsJson(const std::string& body,
                                             const std::string& description);

// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
// AWS_CONTAINER_CREDENTIALS_FULL_URI, sending "Authorization:" with the content
// of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on every fetch) or
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
class ContainerCredentialsProvider : public CredentialsProvider {
 public:
  struct Config {
    std::string url;
    std::string auth_token;       // literal token, or
    std::string auth_token_file;  // a file holding it (wins)
    int64_t timeout_ms = 2000;
  };
  // nullopt when neither URI variable is set; an error for a FULL_URI that is
  // plain http to a host other than loopback or the ECS/EKS link-local hosts.
  // `relative_host` replaces "http://169.254.170.2" (tests).
  static Result<std::optional<Config>> FromEnvironment(
      const Environment& env, const std::string& relative_host = "http://169.254.170.2");

  explicit ContainerCredentialsProvider(Config c) : config_(std::move(c)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override;

 private:
  Config config_;
};

// EC2 instance metadata, IMDSv2: PUT /latest/api/token (header
// X-aws-ec2-metadata-token-ttl-seconds), then with X-aws-ec2-metadata-token:
// GET /latest/meta-data/iam/security-credentials/ (the role name) and
// GET /latest/meta-data/iam/security-credentials/ROLE. If the token PUT is
// answered 403/404/405 (IMDSv1-only proxies) the GETs go without a token.
class ImdsCredentialsProvider : public CredentialsProvider {
 public:
  struct Config {
    std::string endpoint = "http://169.254.169.254";
    int64_t timeout_ms = 1000;  // per request, as the SDKs
    int attempts = 1;
  };
  // Endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT, or the IPv6 one when
  // AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6.
  static Config FromEnvironment(const Environment& env);
  // True when AWS_EC2_METADATA_DISABLED=true.
  static bool Disabled(const Environment& env);

  explicit ImdsCredentialsProvider(Config c) : config_(std::move(c)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override;

 private:
  Config config_;
};

}  // namespace parallelagram::aws
