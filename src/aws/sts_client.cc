#include "aws/sts_client.h"

#include <pugixml.hpp>

#include "aws/retry.h"
#include "common/time_parse.h"
#include "http/http_client.h"

namespace parallelagram::aws {
namespace {

AwsError ProtocolError(const std::string& context, const std::string& what) {
  return ClientError(Status::ProtocolError(context + ": " + what));
}

// Parses <XResponse><XResult><Credentials>..</Credentials><AssumedRoleUser>.. .
AwsResult<AssumedRole> ParseAssumed(const std::string& op, const std::string& role_arn,
                                    const HttpResponse& r) {
  const std::string context = "sts " + op;
  pugi::xml_document doc;
  if (!doc.load_buffer(r.body.data(), r.body.size())) {
    return ProtocolError(context, "the response is not XML");
  }
  pugi::xml_node result = doc.child((op + "Response").c_str()).child((op + "Result").c_str());
  pugi::xml_node c = result.child("Credentials");
  AssumedRole out;
  out.credentials.access_key_id = c.child_value("AccessKeyId");
  out.credentials.secret_access_key = c.child_value("SecretAccessKey");
  out.credentials.session_token = c.child_value("SessionToken");
  int64_t exp = 0;
  if (ParseHttpDate(c.child_value("Expiration"), &exp)) out.credentials.expiration_epoch_ms = exp;
  out.credentials.source = context + " " + role_arn;
  out.assumed_role_arn = result.child("AssumedRoleUser").child_value("Arn");
  out.assumed_role_id = result.child("AssumedRoleUser").child_value("AssumedRoleId");
  if (out.credentials.empty() || out.credentials.session_token.empty()) {
    return ProtocolError(context, "the response has no credentials");
  }
  return out;
}

}  // namespace

void StsClient::GetCallerIdentity(std::function<void(AwsResult<CallerIdentity>)> done) {
  client_.Send(MakeQueryRequest("GetCallerIdentity", kVersion, {}),
               [done = std::move(done)](AwsResult<HttpResponse> r) {
                 if (!r.ok()) return done(std::move(r.error()));
                 pugi::xml_document doc;
                 if (!doc.load_buffer(r->body.data(), r->body.size())) {
                   return done(ProtocolError("sts GetCallerIdentity", "the response is not XML"));
                 }
                 pugi::xml_node res =
                     doc.child("GetCallerIdentityResponse").child("GetCallerIdentityResult");
                 CallerIdentity id;
                 id.account = res.child_value("Account");
                 id.arn = res.child_value("Arn");
                 id.user_id = res.child_value("UserId");
                 if (id.arn.empty()) {
                   return done(ProtocolError("sts GetCallerIdentity", "the response has no Arn"));
                 }
                 done(std::move(id));
               });
}

void StsClient::AssumeRole(const AssumeRoleRequest& request,
                           std::function<void(AwsResult<AssumedRole>)> done) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"RoleArn", request.role_arn}, {"RoleSessionName", request.role_session_name}};
  if (request.duration_seconds > 0) {
    params.emplace_back("DurationSeconds", std::to_string(request.duration_seconds));
  }
  if (!request.external_id.empty()) params.emplace_back("ExternalId", request.external_id);
  if (!request.policy.empty()) params.emplace_back("Policy", request.policy);
  client_.Send(MakeQueryRequest("AssumeRole", kVersion, params),
               [done = std::move(done), arn = request.role_arn](AwsResult<HttpResponse> r) {
                 if (!r.ok()) return done(std::move(r.error()));
                 done(ParseAssumed("AssumeRole", arn, *r));
               });
}

void StsClient::AssumeRoleWithWebIdentity(const AssumeRoleWithWebIdentityRequest& request,
                                          std::function<void(AwsResult<AssumedRole>)> done) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"RoleArn", request.role_arn},
      {"RoleSessionName", request.role_session_name},
      {"WebIdentityToken", request.web_identity_token}};
  if (request.duration_seconds > 0) {
    params.emplace_back("DurationSeconds", std::to_string(request.duration_seconds));
  }
  AwsRequest req = MakeQueryRequest("AssumeRoleWithWebIdentity", kVersion, params);
  req.anonymous = true;
  client_.Send(std::move(req),
               [done = std::move(done), arn = request.role_arn](AwsResult<HttpResponse> r) {
                 if (!r.ok()) return done(std::move(r.error()));
                 done(ParseAssumed("AssumeRoleWithWebIdentity", arn, *r));
               });
}

AwsResult<CallerIdentity> StsClient::GetCallerIdentityAndWait() {
  return RunUntilDone<CallerIdentity>(client_.loop(), [this](auto cb) { GetCallerIdentity(cb); });
}

AwsResult<AssumedRole> StsClient::AssumeRoleAndWait(const AssumeRoleRequest& request) {
  return RunUntilDone<AssumedRole>(client_.loop(), [&](auto cb) { AssumeRole(request, cb); });
}

AwsResult<AssumedRole> StsClient::AssumeRoleWithWebIdentityAndWait(
    const AssumeRoleWithWebIdentityRequest& request) {
  return RunUntilDone<AssumedRole>(client_.loop(),
                                   [&](auto cb) { AssumeRoleWithWebIdentity(request, cb); });
}

namespace {

class StsClientAssumer : public StsAssumer {
 public:
  StsClientAssumer(Endpoint endpoint, int64_t timeout_ms)
      : endpoint_(std::move(endpoint)), timeout_ms_(timeout_ms) {}

  Result<Credentials> AssumeRole(const Credentials& source,
                                 const AssumeRoleParams& params) override {
    AssumeRoleRequest req;
    req.role_arn = params.role_arn;
    req.role_session_name = params.session_name;
    req.duration_seconds = params.duration_seconds;
    req.external_id = params.external_id;
    return Run(StaticCredentials(source),
               [&](StsClient& sts) { return sts.AssumeRoleAndWait(req); });
  }

  Result<Credentials> AssumeRoleWithWebIdentity(const AssumeRoleParams& params,
                                                const std::string& token) override {
    AssumeRoleWithWebIdentityRequest req;
    req.role_arn = params.role_arn;
    req.role_session_name = params.session_name;
    req.duration_seconds = params.duration_seconds;
    req.web_identity_token = token;
    // Sent anonymous (AwsRequest::anonymous): these credentials are never used.
    return Run(StaticCredentials({}),
               [&](StsClient& sts) { return sts.AssumeRoleWithWebIdentityAndWait(req); });
  }

 private:
  template <typename F>
  Result<Credentials> Run(CredentialsFn creds, F call) {
    IoLoop loop;
    CurlHttpClient http(loop);
    ServiceConfig config{endpoint_.signing_name, endpoint_.signing_region, endpoint_.url,
                         AwsProtocol::kQuery, false};
    AwsClient::Options options;
    options.request_timeout_ms = timeout_ms_;
    AwsClient aws(loop, http, std::move(creds), std::move(config), options);
    StsClient sts(aws);
    AwsResult<AssumedRole> r = call(sts);
    if (!r.ok()) return r.status();
    return std::move(r).value().credentials;
  }

  Endpoint endpoint_;
  int64_t timeout_ms_;
};

}  // namespace

std::shared_ptr<StsAssumer> MakeStsAssumer(Endpoint endpoint, int64_t timeout_ms) {
  return std::make_shared<StsClientAssumer>(std::move(endpoint), timeout_ms);
}

}  // namespace parallelagram::aws
