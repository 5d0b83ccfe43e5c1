#include "aws/endpoints.h"

namespace parallelagram::aws {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

bool IsTrue(const std::string& v) { return v == "true" || v == "TRUE" || v == "True"; }

Result<std::string> CheckUrl(std::string url, const std::string& source) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("endpoint url from " + source +
                                   " must start with http:// or https://");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

Result<ResolvedRegion> ResolveRegion(const Environment& env, const Profile* profile) {
  if (std::string r = env.Get("AWS_REGION"); !r.empty()) return ResolvedRegion{r, "AWS_REGION"};
  if (std::string r = env.Get("AWS_DEFAULT_REGION"); !r.empty()) {
    return ResolvedRegion{r, "AWS_DEFAULT_REGION"};
  }
  if (profile && !profile->Get("region").empty()) {
    return ResolvedRegion{profile->Get("region"), profile->Describe("region")};
  }
  return Status::InvalidArgument(
      "no AWS region configured: set AWS_REGION or 'region' in your AWS profile" +
      (profile ? " (" + profile->Describe() + ")" : std::string()));
}

std::string DnsSuffix(const std::string& region) {
  return region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const Environment& env, const Profile* profile) {
  if (service != "s3" && service != "lambda" && service != "iam" && service != "sts") {
    return Status::InvalidArgument("unknown AWS service '" + service + "'");
  }
  Endpoint e;
  e.service = service;
  e.signing_name = service;
  e.signing_region = region;
  const bool ignore = IsTrue(env.Get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
                      (env.Get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").empty() && profile &&
                       IsTrue(profile->Get("ignore_configured_endpoint_urls")));
  if (!ignore) {
    std::string var = "AWS_ENDPOINT_URL_" + Upper(service);
    std::string configured, source;
    if (std::string v = env.Get(var); !v.empty()) {
      configured = v;
      source = var;
    } else if (std::string v2 = env.Get("AWS_ENDPOINT_URL"); !v2.empty()) {
      configured = v2;
      source = "AWS_ENDPOINT_URL";
    } else if (profile) {
      if (std::string v3 = profile->Get(service + ".endpoint_url"); !v3.empty()) {
        configured = v3;
        source = profile->Describe(service + ".endpoint_url");
      } else if (std::string v4 = profile->Get("endpoint_url"); !v4.empty()) {
        configured = v4;
        source = profile->Describe("endpoint_url");
      }
    }
    if (!configured.empty()) {
      PG_ASSIGN_OR_RETURN(e.url, CheckUrl(configured, source));
      e.custom = true;
      e.source = source;
      return e;
    }
  }
  e.source = "AWS public endpoint";
  const std::string suffix = DnsSuffix(region);
  if (service == "iam") {
    if (region.rfind("cn-", 0) == 0) {
      e.url = "https://iam.cn-north-1.amazonaws.com.cn";
      e.signing_region = "cn-north-1";
    } else if (region.rfind("us-gov-", 0) == 0) {
      e.url = "https://iam.us-gov.amazonaws.com";
      e.signing_region = "us-gov-west-1";
    } else {
      e.url = "https://iam.amazonaws.com";
      e.signing_region = "us-east-1";
    }
    return e;
  }
  if (region.empty()) {
    return Status::InvalidArgument("no AWS region configured for the " + service +
                                   " endpoint: set AWS_REGION");
  }
  e.url = "https://" + service + "." + region + "." + suffix;
  return e;
}

}  // namespace parallelagram::aws
