// Region and per-service endpoint resolution, as the AWS SDKs do it, each
// result recording where it came from (for `parallelagram doctor`).
//
// Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`.
// Endpoint for service S in {s3, lambda, iam, sts}:
//   AWS_ENDPOINT_URL_<S> (e.g. AWS_ENDPOINT_URL_S3), AWS_ENDPOINT_URL, the
//   profile's `services` section `S = endpoint_url = ...`, the profile's
//   `endpoint_url`, then AWS's public endpoint. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true
//   (or the profile's ignore_configured_endpoint_urls) skips all but the last.
// Public endpoints: https://{service}.{region}.{dnssuffix}; iam is global:
//   https://iam.amazonaws.com, signed for us-east-1 (aws-cn: iam.cn-north-1..., signed
//   cn-north-1; aws-us-gov: iam.us-gov.amazonaws.com, signed us-gov-west-1).
// S3 addressing: virtual-hosted on AWS's endpoints (bucket.s3.region.amazonaws.com)
//   when the bucket name allows it, path-style on custom endpoints.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "aws/aws_config.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

struct ResolvedRegion {
  std::string region;
  std::string source;  // "AWS_REGION", "AWS_DEFAULT_REGION", "profile 'dev' in /path/config"
};

// Error (kInvalidArgument) when no region is configured; the message says how to set one.
// `profile` may be null.
Result<ResolvedRegion> ResolveRegion(const Environment& env, const Profile* profile);

struct Endpoint {
  std::string service;         // "s3", "lambda", "iam", "sts"
  std::string url;             // scheme://host[:port][/base-path], no trailing '/'
  std::string signing_region;  // the region to sign with
  std::string signing_name;    // the service name to sign with
  bool custom = false;         // true unless it is AWS's public endpoint
  std::string source;          // "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",
                               // "profile 'x' in /path", "AWS public endpoint"
};

// `service` must be one of s3, lambda, iam, sts (else kInvalidArgument).
// A configured url that does not start with http:// or https:// is an error naming its source.
Result<Endpoint> ResolveEndpoint(const std::string& service, const std::string& region,
                                 const Environment& env, const Profile* profile);

// The DNS suffix of the region's partition: "amazonaws.com", "amazonaws.com.cn".
std::string DnsSuffix(const std::string& region);

}  // namespace parallelagram::aws
