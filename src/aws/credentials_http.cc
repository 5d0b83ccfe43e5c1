#include "aws/credentials_http.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aws/sigv4.h"
#include "common/strings.h"
#include "common/time_parse.h"
#include "http/http_client.h"

namespace parallelagram::aws {
namespace {

// Sends one request on a private loop.
Result<HttpResponse> SendOnce(HttpRequest req) {
  IoLoop loop;
  CurlHttpClient client(loop);
  return SendAndWait(loop, client, std::move(req));
}

bool HostAllowedForHttp(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" ||
         host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

}  // namespace

Result<Credentials> ParseHttpCredentialsJson(const std::string& body,
                                             const std::string& description) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return Status::ProtocolError(description + " did not return a JSON object");
  }
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  if (j.contains("Code") && str("Code") != "Success") {
    return Status::PermissionDenied(description + " answered Code '" + str("Code") + "'");
  }
  Credentials c;
  c.access_key_id = str("AccessKeyId");
  c.secret_access_key = str("SecretAccessKey");
  c.session_token = str("Token");
  c.source = description;
  if (c.empty())
    return Status::ProtocolError(description + " returned no AccessKeyId/SecretAccessKey");
  if (std::string e = str("Expiration"); !e.empty() && !ParseIso8601(e, &c.expiration_epoch_ms)) {
    return Status::ProtocolError(description + " returned an Expiration that is not ISO 8601");
  }
  return c;
}

Result<std::optional<ContainerCredentialsProvider::Config>>
ContainerCredentialsProvider::FromEnvironment(const Environment& env,
                                              const std::string& relative_host) {
  Config c;
  if (std::string rel = env.Get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
    c.url = relative_host + (rel[0] == '/' ? "" : "/") + rel;
  } else if (std::string full = env.Get("AWS_CONTAINER_CREDENTIALS_FULL_URI"); !full.empty()) {
    std::string host, path, query;
    if (!SplitUrl(full, &host, &path, &query)) {
      return Status::InvalidArgument("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
    }
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
    if (full.rfind("https://", 0) != 0 && !HostAllowedForHttp(host)) {
      return Status::InvalidArgument(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http to a loopback or the "
          "ECS/EKS link-local address; got host " +
          host);
    }
    c.url = full;
  } else {
    return std::optional<Config>();
  }
  c.auth_token_file = env.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  c.auth_token = env.Get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  return std::optional<Config>(std::move(c));
}

std::string ContainerCredentialsProvider::Describe() const {
  return "container credentials endpoint " + config_.url.substr(0, config_.url.find('?'));
}

Result<Credentials> ContainerCredentialsProvider::Fetch() {
  HttpRequest req;
  req.url = config_.url;
  req.timeout_ms = config_.timeout_ms;
  req.connect_timeout_ms = config_.timeout_ms;
  req.headers = {{"Accept", "application/json"}};
  std::string token = config_.auth_token;
  if (!config_.auth_token_file.empty()) {
    std::ifstream f(config_.auth_token_file);
    if (!f) {
      return Status::IoError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                             config_.auth_token_file);
    }
    std::stringstream ss;
    ss << f.rdbuf();
    token = Trim(ss.str());
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("the container authorization token contains a line break");
  }
  if (!token.empty()) req.headers.emplace_back("Authorization", token);
  auto r = SendOnce(std::move(req));
  if (!r.ok()) return r.status().WithContext(Describe());
  if (r->status != 200) {
    return Status::PermissionDenied(Describe() + " answered HTTP " + std::to_string(r->status));
  }
  return ParseHttpCredentialsJson(r->body, Describe());
}

ImdsCredentialsProvider::Config ImdsCredentialsProvider::FromEnvironment(const Environment& env) {
  Config c;
  if (std::string e = env.Get("AWS_EC2_METADATA_SERVICE_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    c.endpoint = e;
  } else if (env.Get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") == "IPv6") {
    c.endpoint = "http://[fd00:ec2::254]";
  }
  return c;
}

bool ImdsCredentialsProvider::Disabled(const Environment& env) {
  std::string v = env.Get("AWS_EC2_METADATA_DISABLED");
  for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return v == "true";
}

std::string ImdsCredentialsProvider::Describe() const {
  return "EC2 instance metadata at " + config_.endpoint;
}

Result<Credentials> ImdsCredentialsProvider::Fetch() {
  auto make = [&](const std::string& method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    r.url = config_.endpoint + path;
    r.timeout_ms = config_.timeout_ms;
    r.connect_timeout_ms = config_.timeout_ms;
    return r;
  };
  Status last;
  for (int attempt = 0; attempt < std::max(1, config_.attempts); ++attempt) {
    HttpRequest tok = make("PUT", "/latest/api/token");
    tok.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    auto t = SendOnce(tok);
    if (!t.ok()) {
      last = t.status().WithContext(Describe() + " (not on EC2?)");
      continue;
    }
    std::string token;
    if (t->status == 200) {
      token = Trim(t->body);
    } else if (t->status != 403 && t->status != 404 && t->status != 405) {
      last = Status::Unavailable(Describe() + " refused a session token: HTTP " +
                                 std::to_string(t->status));
      continue;
    }
    HttpRequest list = make("GET", "/latest/meta-data/iam/security-credentials/");
    if (!token.empty()) list.headers = {{"X-aws-ec2-metadata-token", token}};
    auto l = SendOnce(list);
    if (!l.ok()) {
      last = l.status().WithContext(Describe());
      continue;
    }
    if (l->status == 404) {
      return Status::PermissionDenied(Describe() + ": this instance has no IAM role attached");
    }
    if (l->status != 200) {
      last = Status::Unavailable(Describe() + " answered HTTP " + std::to_string(l->status) +
                                 " for the role name");
      continue;
    }
    std::string role = Trim(l->body.substr(0, l->body.find('\n')));
    if (role.empty()) return Status::PermissionDenied(Describe() + " lists no IAM role");
    HttpRequest get =
        make("GET", "/latest/meta-data/iam/security-credentials/" + UriEncode(role, false));
    if (!token.empty()) get.headers = {{"X-aws-ec2-metadata-token", token}};
    auto g = SendOnce(get);
    if (!g.ok()) {
      last = g.status().WithContext(Describe());
      continue;
    }
    if (g->status != 200) {
      last = Status::Unavailable(Describe() + " answered HTTP " + std::to_string(g->status) +
                                 " for role '" + role + "'");
      continue;
    }
    return ParseHttpCredentialsJson(
        g->body, "EC2 instance metadata role '" + role + "' at " + config_.endpoint);
  }
  return last;
}

}  // namespace parallelagram::aws
