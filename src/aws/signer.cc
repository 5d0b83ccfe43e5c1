#include "aws/signer.h"

#include <utility>

#include "aws/retry.h"

namespace parallelagram::aws {

CredentialsFn StaticCredentials(Credentials c) {
  auto shared = std::make_shared<const Credentials>(std::move(c));
  return [shared]() -> Result<std::shared_ptr<const Credentials>> { return shared; };
}

Signer::Signer(CredentialsFn credentials, Config config)
    : credentials_(std::move(credentials)), config_(std::move(config)) {}

Status Signer::Sign(HttpRequest& request, const Credentials& credentials, const Options& options,
                    SigningResult* result) const {
  SigningParams params;
  params.service = config_.service;
  params.region = config_.region;
  params.epoch_seconds = NowEpochMs() / 1000;
  params.s3_rules = config_.s3_rules;
  params.unsigned_payload = options.unsigned_payload;
  // Lambda requests with a body: no x-amz-content-sha256, as botocore's SigV4Auth. See the
  // top of signer.h for why the others keep it.
  params.sign_content_sha256 =
      !(config_.service == "lambda" && (!request.body.empty() || !request.body_file.empty()));
  params.payload_hash = std::string(options.payload_hash);
  return SignRequest(request, credentials, params, result);
}

Status Signer::Sign(HttpRequest& request) const {
  PG_ASSIGN_OR_RETURN(std::shared_ptr<const Credentials> c, credentials_());
  return Sign(request, *c, Options{});
}

bool Signer::LearnClockSkew(const HttpResponse& response, AwsProtocol protocol) {
  if (response.status < 400) return false;
  const AwsError error = ParseAwsError(protocol, response, config_.service);
  const int64_t local_ms = config_.clock->NowEpochMs();
  if (ClassifyError(error, local_ms) != RetryClass::kClockSkew) return false;
  int64_t skew = 0;
  if (!ServerClockSkewMs(error, local_ms, &skew)) return false;
  SetClockSkewMs(skew);
  return true;
}

}  // namespace parallelagram::aws
