// The default credentials chain, in the AWS SDKs' order:
//   1. environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN);
//   2. the selected profile of the shared files (AWS_PROFILE, else "default"):
//      role_arn (+ source_profile | credential_source | web_identity_token_file) via STS,
//      then aws_access_key_id/aws_secret_access_key, then credential_process;
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME];
//   4. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI;
//   5. EC2 instance metadata (IMDSv2) unless AWS_EC2_METADATA_DISABLED=true.
// The source is chosen from configuration alone (nothing is contacted): the
// first configured source is used, and a failure there is reported rather than
// falling through, as the SDKs do. An explicitly named profile that does not
// exist is an error. Thread-safe (pure).
#pragma once

#include <memory>
#include <string>

#include "aws/aws_config.h"
#include "aws/credentials.h"
#include "aws/sts_credentials.h"

namespace parallelagram::aws {

struct ChainOptions {
  // STS for role_arn profiles and web identity; null: MakeStsAssumer at the STS
  // endpoint resolved (endpoints.h) for the environment and the profile.
  std::shared_ptr<StsAssumer> sts;
  std::string container_relative_host = "http://169.254.170.2";  // tests replace it
  int64_t imds_timeout_ms = 1000;
};

// The provider the chain selects; its Describe() says which (for doctor).
Result<std::unique_ptr<CredentialsProvider>> SelectCredentialsProvider(
    const Environment& env, const SharedConfig& config, const ChainOptions& options = {});

// SelectCredentialsProvider wrapped in RefreshingCredentials (refresh 5 min before expiry).
Result<std::shared_ptr<RefreshingCredentials>> DefaultCredentials(const Environment& env,
                                                                  const SharedConfig& config,
                                                                  const Clock& clock,
                                                                  const ChainOptions& options = {});

}  // namespace parallelagram::aws
