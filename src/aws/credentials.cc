#include "aws/credentials.h"

#include <sys/wait.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/time_parse.h"

namespace parallelagram::aws {

Result<std::optional<Credentials>> CredentialsFromEnvironment(const Environment& env) {
  std::string id = env.Get("AWS_ACCESS_KEY_ID");
  std::string secret = env.Get("AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) return std::optional<Credentials>();
  if (id.empty() || secret.empty()) {
    return Status::InvalidArgument(
        std::string("environment variable ") +
        (id.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                    : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") +
        ": set both, or unset both to use another credential source");
  }
  Credentials c;
  c.access_key_id = id;
  c.secret_access_key = secret;
  c.session_token = env.Get("AWS_SESSION_TOKEN");
  if (c.session_token.empty()) c.session_token = env.Get("AWS_SECURITY_TOKEN");
  c.source = "environment variables";
  return std::optional<Credentials>(std::move(c));
}

Result<Credentials> ParseProcessCredentials(const std::string& text,
                                            const std::string& description) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return Status::ProtocolError(description + " printed something that is not a JSON object");
  }
  if (!j.contains("Version") || !j["Version"].is_number_integer() || j["Version"] != 1) {
    return Status::ProtocolError(description + " output must have \"Version\": 1");
  }
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  Credentials c;
  c.access_key_id = str("AccessKeyId");
  c.secret_access_key = str("SecretAccessKey");
  c.session_token = str("SessionToken");
  c.source = description;
  if (c.empty()) {
    return Status::ProtocolError(description +
                                 " output lacks \"AccessKeyId\" or \"SecretAccessKey\"");
  }
  if (std::string e = str("Expiration"); !e.empty()) {
    if (!ParseIso8601(e, &c.expiration_epoch_ms)) {
      return Status::ProtocolError(description +
                                   " output has an \"Expiration\" that is not "
                                   "an ISO 8601 time");
    }
  }
  return c;
}

Result<Credentials> ProcessCredentialsProvider::Fetch() {
  std::fflush(nullptr);
  FILE* p = popen(command_.c_str(), "r");
  if (p == nullptr) return Status::IoError("cannot start " + description_);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status == -1) return Status::IoError("cannot wait for " + description_);
  if (WIFSIGNALED(status)) {
    return Status::PermissionDenied(description_ + " was killed by signal " +
                                    std::to_string(WTERMSIG(status)));
  }
  if (WEXITSTATUS(status) != 0) {
    return Status::PermissionDenied(description_ + " exited " +
                                    std::to_string(WEXITSTATUS(status)) +
                                    ": run the command by hand to see why");
  }
  return ParseProcessCredentials(out, description_);
}

RefreshingCredentials::RefreshingCredentials(std::unique_ptr<CredentialsProvider> provider,
                                             const Clock& clock, int64_t refresh_before_ms)
    : provider_(std::move(provider)), clock_(clock), refresh_before_ms_(refresh_before_ms) {}

Result<Credentials> RefreshingCredentials::Get() {
  PG_ASSIGN_OR_RETURN(std::shared_ptr<const Credentials> c, GetShared());
  return *c;
}

Result<std::shared_ptr<const Credentials>> RefreshingCredentials::GetShared() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowEpochMs();
  if (cached_ && (!cached_->expires() || now < cached_->expiration_epoch_ms - refresh_before_ms_)) {
    return cached_;
  }
  Result<Credentials> fresh = provider_->Fetch();
  if (!fresh.ok()) {
    if (cached_ && cached_->expires() && now < cached_->expiration_epoch_ms) return cached_;
    return fresh.status();
  }
  if (fresh->expires() && fresh->expiration_epoch_ms <= now) {
    return Status::PermissionDenied(provider_->Describe() +
                                    " returned credentials that have already expired");
  }
  cached_ = std::make_shared<const Credentials>(std::move(fresh).value());
  return cached_;
}

void RefreshingCredentials::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  cached_.reset();
}

}  // namespace parallelagram::aws
