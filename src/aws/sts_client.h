// StsClient: AWS STS over the query protocol (XML responses):
// GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity (sent unsigned,
// as the SDKs do). The credential providers (source_profile + role_arn, web
// identity) build on the synchronous *AndWait forms, on their own IoLoop.
//
// Thread-safety and lifetime as AwsClient: loop thread only; the AwsClient
// (whose ServiceConfig must have service "sts" and protocol kQuery) must
// outlive the StsClient and every call in flight.
// Secrets: returned Credentials hold secrets; their `source` names the role.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "aws/aws_client.h"
#include "aws/credentials.h"
#include "aws/endpoints.h"
#include "aws/sts_credentials.h"

namespace parallelagram::aws {

struct CallerIdentity {
  std::string account;
  std::string arn;
  std::string user_id;
};

struct AssumeRoleRequest {
  std::string role_arn;
  std::string role_session_name;
  int duration_seconds = 0;  // 0: STS's default (3600)
  std::string external_id;   // optional
  std::string policy;        // optional inline session policy (JSON)
};

struct AssumeRoleWithWebIdentityRequest {
  std::string role_arn;
  std::string role_session_name;
  std::string web_identity_token;  // secret: never logged
  int duration_seconds = 0;
};

struct AssumedRole {
  Credentials credentials;  // expiration_epoch_ms set; source "sts AssumeRole <role arn>"
  std::string assumed_role_arn;
  std::string assumed_role_id;
};

class StsClient {
 public:
  explicit StsClient(AwsClient& client) : client_(client) {}

  void GetCallerIdentity(std::function<void(AwsResult<CallerIdentity>)> done);
  void AssumeRole(const AssumeRoleRequest& request,
                  std::function<void(AwsResult<AssumedRole>)> done);
  void AssumeRoleWithWebIdentity(const AssumeRoleWithWebIdentityRequest& request,
                                 std::function<void(AwsResult<AssumedRole>)> done);

  // Synchronous forms: run the client's loop until done.
  AwsResult<CallerIdentity> GetCallerIdentityAndWait();
  AwsResult<AssumedRole> AssumeRoleAndWait(const AssumeRoleRequest& request);
  AwsResult<AssumedRole> AssumeRoleWithWebIdentityAndWait(
      const AssumeRoleWithWebIdentityRequest& request);

  static constexpr const char* kVersion = "2011-06-15";

 private:
  AwsClient& client_;
};

// The StsAssumer the credential providers (source_profile + role_arn, web
// identity) use: StsClient at `endpoint`. Each call blocks on its own private
// IoLoop, HTTP client and AwsClient (signed with the given source
// credentials, or anonymous for web identity), with the standard retry mode.
// Thread-compatible: calls may run on any thread, one at a time per caller.
// Errors are StsClient's: "sts AssumeRole: <Code>: <message> (HTTP n, request id x)".
std::shared_ptr<StsAssumer> MakeStsAssumer(Endpoint endpoint, int64_t timeout_ms = 10000);

}  // namespace parallelagram::aws
