#include "aws/aws_session.h"

#include "aws/credentials_chain.h"
#include "common/clock.h"

namespace parallelagram::aws {

Result<std::unique_ptr<AwsSession>> AwsSession::Open(const Environment& env, IoLoop* loop) {
  std::unique_ptr<AwsSession> s(new AwsSession(env, loop));
  PG_ASSIGN_OR_RETURN(SharedConfig loaded, SharedConfig::Load(s->env_));
  const SharedConfig& config = s->config_.emplace(std::move(loaded));
  std::optional<Profile> profile = config.Find(SharedConfig::SelectedProfileName(s->env_));
  const Profile* prof = profile ? &*profile : nullptr;
  PG_ASSIGN_OR_RETURN(s->region_, ResolveRegion(s->env_, prof));
  for (const char* service : {"s3", "lambda", "iam", "sts"}) {
    PG_ASSIGN_OR_RETURN(Endpoint ep, ResolveEndpoint(service, s->region_.region, s->env_, prof));
    s->endpoints_[service] = std::move(ep);
  }
  PG_ASSIGN_OR_RETURN(s->credentials_, DefaultCredentials(s->env_, config, SystemClock::Get()));
  return s;
}

AwsClient& AwsSession::Client(const std::string& service) {
  auto it = clients_.find(service);
  if (it != clients_.end()) return *it->second;
  const Endpoint& ep = endpoints_.at(service);
  AwsProtocol protocol = service == "s3"       ? AwsProtocol::kRestXml
                         : service == "lambda" ? AwsProtocol::kRestJson
                                               : AwsProtocol::kQuery;
  std::shared_ptr<RefreshingCredentials> creds = credentials_;
  auto client = std::make_unique<AwsClient>(
      loop_, http_, [creds]() { return creds->GetShared(); },
      ServiceConfig{ep.signing_name, ep.signing_region, ep.url, protocol, service == "s3"});
  AwsClient& ref = *client;
  clients_[service] = std::move(client);
  return ref;
}

}  // namespace parallelagram::aws
