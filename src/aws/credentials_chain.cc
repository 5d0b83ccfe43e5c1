#include "aws/credentials_chain.h"

#include <set>

#include "aws/credentials_http.h"
#include "aws/endpoints.h"
#include "aws/sts_client.h"

namespace parallelagram::aws {
namespace {

using ProviderPtr = std::unique_ptr<CredentialsProvider>;

std::string DefaultSessionName() {
  return "parallelagram-" + std::to_string(SystemClock::Get().NowEpochMs());
}

Result<std::shared_ptr<StsAssumer>> StsFor(const Environment& env, const Profile* profile,
                                           const ChainOptions& opts) {
  if (opts.sts) return opts.sts;
  auto region = ResolveRegion(env, profile);
  // Without a region the SDKs fall back to the global STS endpoint (us-east-1).
  std::string r = region.ok() ? region->region : "us-east-1";
  PG_ASSIGN_OR_RETURN(Endpoint e, ResolveEndpoint("sts", r, env, profile));
  return MakeStsAssumer(e);
}

Result<ProviderPtr> ProviderForProfile(const Environment& env, const SharedConfig& config,
                                       const std::string& name, const ChainOptions& opts,
                                       std::set<std::string>& visiting, bool as_source);

Result<ProviderPtr> StaticFromProfile(const Profile& p) {
  Credentials c;
  c.access_key_id = p.Get("aws_access_key_id");
  c.secret_access_key = p.Get("aws_secret_access_key");
  c.session_token = p.Get("aws_session_token");
  c.source = p.Describe("aws_access_key_id");
  if (c.empty()) {
    return Status::InvalidArgument(p.Describe() +
                                   " sets only one of aws_access_key_id and aws_secret_access_key");
  }
  return ProviderPtr(std::make_unique<StaticCredentialsProvider>(c));
}

Result<ProviderPtr> AssumeRoleFromProfile(const Environment& env, const SharedConfig& config,
                                          const Profile& p, const ChainOptions& opts,
                                          std::set<std::string>& visiting) {
  AssumeRoleParams params;
  params.role_arn = p.Get("role_arn");
  params.session_name = p.Get("role_session_name");
  if (params.session_name.empty()) params.session_name = DefaultSessionName();
  params.external_id = p.Get("external_id");
  if (std::string d = p.Get("duration_seconds"); !d.empty()) {
    if (d.find_first_not_of("0123456789") != std::string::npos || d.size() > 6) {
      return Status::InvalidArgument(p.Describe("duration_seconds") +
                                     ": duration_seconds must be a number of seconds");
    }
    params.duration_seconds = std::stoi(d);
  }
  PG_ASSIGN_OR_RETURN(auto sts, StsFor(env, &p, opts));
  const std::string desc = "role " + params.role_arn + " of " + p.Describe("role_arn");
  if (std::string tf = p.Get("web_identity_token_file"); !tf.empty()) {
    return ProviderPtr(
        std::make_unique<WebIdentityProvider>(tf, sts, params, "web identity " + desc));
  }
  ProviderPtr source;
  if (std::string sp = p.Get("source_profile"); !sp.empty()) {
    if (sp == p.name) {
      PG_ASSIGN_OR_RETURN(source, StaticFromProfile(p));
    } else {
      PG_ASSIGN_OR_RETURN(source, ProviderForProfile(env, config, sp, opts, visiting, true));
      if (!source) {
        return Status::InvalidArgument(p.Describe("source_profile") + " names source_profile '" +
                                       sp + "', which has no credentials");
      }
    }
  } else if (std::string cs = p.Get("credential_source"); !cs.empty()) {
    if (cs == "Environment") {
      PG_ASSIGN_OR_RETURN(auto c, CredentialsFromEnvironment(env));
      if (!c) {
        return Status::InvalidArgument(p.Describe() +
                                       " has credential_source = Environment but "
                                       "AWS_ACCESS_KEY_ID is not set");
      }
      source = std::make_unique<StaticCredentialsProvider>(*c);
    } else if (cs == "Ec2InstanceMetadata") {
      auto ic = ImdsCredentialsProvider::FromEnvironment(env);
      ic.timeout_ms = opts.imds_timeout_ms;
      source = std::make_unique<ImdsCredentialsProvider>(ic);
    } else if (cs == "EcsContainer") {
      PG_ASSIGN_OR_RETURN(auto cc, ContainerCredentialsProvider::FromEnvironment(
                                       env, opts.container_relative_host));
      if (!cc) {
        return Status::InvalidArgument(p.Describe() +
                                       " has credential_source = EcsContainer "
                                       "but no AWS_CONTAINER_CREDENTIALS_*_URI is set");
      }
      source = std::make_unique<ContainerCredentialsProvider>(*cc);
    } else {
      return Status::InvalidArgument(p.Describe("credential_source") +
                                     ": credential_source must be Environment, "
                                     "Ec2InstanceMetadata or EcsContainer");
    }
  } else {
    return Status::InvalidArgument(p.Describe("role_arn") +
                                   " sets role_arn without source_profile, credential_source "
                                   "or web_identity_token_file");
  }
  return ProviderPtr(std::make_unique<AssumeRoleProvider>(std::move(source), sts, params, desc));
}

// nullptr when the profile does not exist or holds no credentials.
Result<ProviderPtr> ProviderForProfile(const Environment& env, const SharedConfig& config,
                                       const std::string& name, const ChainOptions& opts,
                                       std::set<std::string>& visiting, bool as_source) {
  std::optional<Profile> p = config.Find(name);
  if (!p) return ProviderPtr();
  if (!visiting.insert(name).second) {
    return Status::InvalidArgument("profile '" + name +
                                   "' is part of a source_profile cycle; fix your AWS config");
  }
  if (p->Has("role_arn")) return AssumeRoleFromProfile(env, config, *p, opts, visiting);
  if (p->Has("aws_access_key_id") || p->Has("aws_secret_access_key")) {
    return StaticFromProfile(*p);
  }
  if (std::string cmd = p->Get("credential_process"); !cmd.empty()) {
    return ProviderPtr(std::make_unique<ProcessCredentialsProvider>(
        cmd, "credential_process of " + p->Describe("credential_process")));
  }
  (void)as_source;
  return ProviderPtr();
}

}  // namespace

Result<std::unique_ptr<CredentialsProvider>> SelectCredentialsProvider(const Environment& env,
                                                                       const SharedConfig& config,
                                                                       const ChainOptions& opts) {
  // 1. Environment variables.
  PG_ASSIGN_OR_RETURN(auto env_creds, CredentialsFromEnvironment(env));
  if (env_creds) return ProviderPtr(std::make_unique<StaticCredentialsProvider>(*env_creds));

  // 2. The shared files.
  const std::string profile = SharedConfig::SelectedProfileName(env);
  std::set<std::string> visiting;
  PG_ASSIGN_OR_RETURN(ProviderPtr from_profile,
                      ProviderForProfile(env, config, profile, opts, visiting, false));
  if (from_profile) return from_profile;
  const bool profile_exists = config.Find(profile).has_value();
  if (!profile_exists && SharedConfig::ProfileExplicit(env)) {
    return Status::NotFound("AWS profile '" + profile + "' (from AWS_PROFILE) is not in " +
                            config.config_path() + " or " + config.credentials_path());
  }

  // 3. Web identity.
  std::string token_file = env.Get("AWS_WEB_IDENTITY_TOKEN_FILE");
  std::string role_arn = env.Get("AWS_ROLE_ARN");
  if (!token_file.empty() && !role_arn.empty()) {
    AssumeRoleParams params;
    params.role_arn = role_arn;
    params.session_name = env.Get("AWS_ROLE_SESSION_NAME");
    if (params.session_name.empty()) params.session_name = DefaultSessionName();
    std::optional<Profile> p = config.Find(profile);
    PG_ASSIGN_OR_RETURN(auto sts, StsFor(env, p ? &*p : nullptr, opts));
    return ProviderPtr(std::make_unique<WebIdentityProvider>(
        token_file, sts, params,
        "web identity token file " + token_file + " for role " + role_arn));
  }

  // 4. Container endpoint.
  PG_ASSIGN_OR_RETURN(auto container, ContainerCredentialsProvider::FromEnvironment(
                                          env, opts.container_relative_host));
  if (container) return ProviderPtr(std::make_unique<ContainerCredentialsProvider>(*container));

  // 5. EC2 instance metadata.
  if (!ImdsCredentialsProvider::Disabled(env)) {
    auto ic = ImdsCredentialsProvider::FromEnvironment(env);
    ic.timeout_ms = opts.imds_timeout_ms;
    return ProviderPtr(std::make_unique<ImdsCredentialsProvider>(ic));
  }
  return Status::PermissionDenied(
      "no AWS credentials found (environment variables, profile '" + profile + "' in " +
      config.credentials_path() + " / " + config.config_path() +
      ", web identity, container endpoint; EC2 metadata disabled): set AWS_ACCESS_KEY_ID and "
      "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE");
}

Result<std::shared_ptr<RefreshingCredentials>> DefaultCredentials(const Environment& env,
                                                                  const SharedConfig& config,
                                                                  const Clock& clock,
                                                                  const ChainOptions& options) {
  PG_ASSIGN_OR_RETURN(auto provider, SelectCredentialsProvider(env, config, options));
  return std::make_shared<RefreshingCredentials>(std::move(provider), clock);
}

}  // namespace parallelagram::aws
