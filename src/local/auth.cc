#include "local/auth.h"

#include "aws/sigv4_verify.h"
#include "common/clock.h"

namespace parallelagram::local {

bool VerifyRequestSignature(const HttpRequestMsg& req, bool body_unread,
                            const LocalLambdaOptions& options, AuthFailure* failure) {
  aws::IncomingRequest in;
  in.method = std::string(req.method_string());
  std::string target(req.target());
  size_t q = target.find('?');
  in.raw_path = target.substr(0, q);
  if (q != std::string::npos) in.raw_query = target.substr(q + 1);
  for (const auto& field : req) {
    in.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  in.body = req.body();
  if (body_unread) {
    // The body was too large to read: trust its declared hash (the 413 follows anyway).
    in.payload_hash = std::string(req["x-amz-content-sha256"]);
  }
  aws::KeyLookup lookup = [&options](const std::string& id) -> std::optional<aws::KnownKey> {
    if (id != options.access_key_id) return std::nullopt;
    aws::KnownKey key;
    key.secret_access_key = options.secret_access_key;
    return key;
  };
  aws::VerifyOptions vo;
  vo.expected_service = "lambda";
  aws::VerifiedCaller caller;
  auto err = aws::VerifySigV4(in, lookup, SystemClock::Get().NowEpochMs() / 1000, vo, &caller);
  if (err) {
    failure->status = err->http_status;
    failure->type = err->error_type;
    failure->message = err->message;
    return false;
  }
  if (caller.region != options.region) {
    failure->status = 403;
    failure->type = "InvalidSignatureException";
    failure->message =
        "Credential should be scoped to a valid region, not '" + caller.region + "'. ";
    return false;
  }
  return true;
}

}  // namespace parallelagram::local
