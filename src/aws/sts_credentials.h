// Credentials from STS: AssumeRole (profiles with role_arn) and
// AssumeRoleWithWebIdentity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or a
// profile's web_identity_token_file).
//
// StsAssumer is the seam: the real one is StsClient's (MakeStsAssumer in
// sts_client.h); tests substitute their own.
#pragma once

#include <memory>
#include <string>

#include "aws/credentials.h"
#include "aws/endpoints.h"

namespace parallelagram::aws {

struct AssumeRoleParams {
  std::string role_arn;
  std::string session_name;
  std::string external_id;      // optional
  int duration_seconds = 3600;  // 900..43200
};

class StsAssumer {
 public:
  virtual ~StsAssumer() = default;
  // sts:AssumeRole signed with `source`. Errors carry STS's code and message.
  virtual Result<Credentials> AssumeRole(const Credentials& source,
                                         const AssumeRoleParams& params) = 0;
  // sts:AssumeRoleWithWebIdentity (unsigned) with the token's text.
  virtual Result<Credentials> AssumeRoleWithWebIdentity(const AssumeRoleParams& params,
                                                        const std::string& token) = 0;
};

// AssumeRole with credentials from another provider (the source profile).
class AssumeRoleProvider : public CredentialsProvider {
 public:
  AssumeRoleProvider(std::unique_ptr<CredentialsProvider> source, std::shared_ptr<StsAssumer> sts,
                     AssumeRoleParams params, std::string description)
      : source_(std::move(source)),
        sts_(std::move(sts)),
        params_(std::move(params)),
        description_(std::move(description)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override { return description_; }

 private:
  std::unique_ptr<CredentialsProvider> source_;
  std::shared_ptr<StsAssumer> sts_;
  AssumeRoleParams params_;
  std::string description_;
};

// AssumeRoleWithWebIdentity with the token read from `token_file` on every fetch.
class WebIdentityProvider : public CredentialsProvider {
 public:
  WebIdentityProvider(std::string token_file, std::shared_ptr<StsAssumer> sts,
                      AssumeRoleParams params, std::string description)
      : token_file_(std::move(token_file)),
        sts_(std::move(sts)),
        params_(std::move(params)),
        description_(std::move(description)) {}
  Result<Credentials> Fetch() override;
  std::string Describe() const override { return description_; }

 private:
  std::string token_file_;
  std::shared_ptr<StsAssumer> sts_;
  AssumeRoleParams params_;
  std::string description_;
};

}  // namespace parallelagram::aws
