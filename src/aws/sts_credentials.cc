#include "aws/sts_credentials.h"

#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "http/http_client.h"

namespace parallelagram::aws {
namespace {

std::string FormBody(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string body;
  for (const auto& [k, v] : params) {
    if (!body.empty()) body += '&';
    body += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return body;
}

std::vector<std::pair<std::string, std::string>> BaseParams(const std::string& action,
                                                            const AssumeRoleParams& p) {
  std::vector<std::pair<std::string, std::string>> v = {
      {"Action", action},
      {"Version", "2011-06-15"},
      {"RoleArn", p.role_arn},
      {"RoleSessionName", p.session_name},
      {"DurationSeconds", std::to_string(p.duration_seconds)}};
  if (!p.external_id.empty()) v.emplace_back("ExternalId", p.external_id);
  return v;
}

}  // namespace

Result<Credentials> ParseStsCredentials(const std::string& xml, const std::string& action,
                                        long http_status) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) {
    return Status::ProtocolError("STS " + action + " answered HTTP " + std::to_string(http_status) +
                                 " with a body that is not XML");
  }
  // <ErrorResponse><Error>... (AWS) or <Response><Errors><Error>... (some servers).
  if (pugi::xml_node e = doc.select_node("//Error").node(); e) {
    std::string request_id = doc.select_node("//RequestId").node().child_value();
    if (request_id.empty()) request_id = doc.select_node("//RequestID").node().child_value();
    return Status::PermissionDenied("STS " + action + " failed: " + e.child_value("Code") + ": " +
                                    e.child_value("Message") + " (request id " + request_id + ")");
  }
  pugi::xml_node c = doc.child((action + "Response").c_str())
                         .child((action + "Result").c_str())
                         .child("Credentials");
  if (!c || http_status != 200) {
    return Status::ProtocolError("STS " + action + " answered HTTP " + std::to_string(http_status) +
                                 " without credentials");
  }
  Credentials out;
  out.access_key_id = c.child_value("AccessKeyId");
  out.secret_access_key = c.child_value("SecretAccessKey");
  out.session_token = c.child_value("SessionToken");
  if (out.empty() || !ParseIso8601(c.child_value("Expiration"), &out.expiration_epoch_ms)) {
    return Status::ProtocolError("STS " + action + " answer lacks credentials or expiration");
  }
  return out;
}

Result<Credentials> HttpStsAssumer::AssumeRole(const Credentials& source,
                                               const AssumeRoleParams& params) {
  HttpRequest req;
  req.method = "POST";
  req.url = endpoint_.url + "/";
  req.timeout_ms = timeout_ms_;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  req.body = FormBody(BaseParams("AssumeRole", params));
  SigningParams sp;
  sp.service = endpoint_.signing_name;
  sp.region = endpoint_.signing_region;
  sp.epoch_seconds = SystemClock::Get().NowEpochMs() / 1000;
  PG_RETURN_IF_ERROR(SignRequest(req, source, sp));
  EventLoop loop;
  CurlHttpClient client(loop);
  auto r = SendAndWait(loop, client, std::move(req));
  if (!r.ok()) return r.status().WithContext("STS AssumeRole at " + endpoint_.url);
  return ParseStsCredentials(r->body, "AssumeRole", r->status);
}

Result<Credentials> HttpStsAssumer::AssumeRoleWithWebIdentity(const AssumeRoleParams& params,
                                                              const std::string& token) {
  HttpRequest req;
  req.method = "POST";
  req.url = endpoint_.url + "/";
  req.timeout_ms = timeout_ms_;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  auto p = BaseParams("AssumeRoleWithWebIdentity", params);
  p.emplace_back("WebIdentityToken", token);
  req.body = FormBody(p);
  EventLoop loop;
  CurlHttpClient client(loop);
  auto r = SendAndWait(loop, client, std::move(req));
  if (!r.ok()) return r.status().WithContext("STS AssumeRoleWithWebIdentity at " + endpoint_.url);
  return ParseStsCredentials(r->body, "AssumeRoleWithWebIdentity", r->status);
}

Result<Credentials> AssumeRoleProvider::Fetch() {
  auto src = source_->Fetch();
  if (!src.ok()) return src.status().WithContext(description_);
  auto c = sts_->AssumeRole(*src, params_);
  if (!c.ok()) return c.status().WithContext(description_);
  c->source = description_;
  return c;
}

Result<Credentials> WebIdentityProvider::Fetch() {
  std::ifstream f(token_file_, std::ios::binary);
  if (!f) return Status::IoError(description_ + ": cannot read token file " + token_file_);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty()) return Status::InvalidArgument(description_ + ": token file is empty");
  auto c = sts_->AssumeRoleWithWebIdentity(params_, token);
  if (!c.ok()) return c.status().WithContext(description_);
  c->source = description_;
  return c;
}

}  // namespace parallelagram::aws
