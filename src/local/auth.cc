#include "local/auth.h"

#include <openssl/crypto.h>

#include <cstdlib>

#include <fmt/format.h>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/sha256.h"

namespace parallelagram::local {
namespace {

bool Fail(AuthFailure* f, std::string type, std::string message) {
  f->status = 403;
  f->type = std::move(type);
  f->message = std::move(message);
  return false;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool VerifyRequestSignature(const HttpRequestMsg& req, bool body_unread,
                            const LocalLambdaOptions& options, AuthFailure* failure) {
  std::string auth(req["Authorization"]);
  if (auth.empty()) {
    return Fail(failure, "MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  const std::string kAlg = "AWS4-HMAC-SHA256 ";
  if (auth.rfind(kAlg, 0) != 0) {
    return Fail(failure, "IncompleteSignatureException",
                "Authorization header requires the AWS4-HMAC-SHA256 algorithm.");
  }
  std::string credential, signed_headers, signature;
  std::string rest = auth.substr(kAlg.size());
  size_t i = 0;
  while (i < rest.size()) {
    size_t comma = rest.find(',', i);
    if (comma == std::string::npos) comma = rest.size();
    std::string part = aws::TrimAll(rest.substr(i, comma - i));
    size_t eq = part.find('=');
    if (eq != std::string::npos) {
      std::string k = part.substr(0, eq), v = part.substr(eq + 1);
      if (k == "Credential") credential = v;
      if (k == "SignedHeaders") signed_headers = v;
      if (k == "Signature") signature = v;
    }
    i = comma + 1;
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    return Fail(failure, "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                "parameters. Authorization=AWS4-HMAC-SHA256 ...");
  }
  // Credential = AKID/DATE/REGION/SERVICE/aws4_request
  std::vector<std::string> scope;
  for (size_t s = 0;;) {
    size_t slash = credential.find('/', s);
    scope.push_back(credential.substr(s, slash == std::string::npos ? std::string::npos : slash - s));
    if (slash == std::string::npos) break;
    s = slash + 1;
  }
  if (scope.size() != 5 || scope[4] != "aws4_request") {
    return Fail(failure, "IncompleteSignatureException",
                "Credential should be scoped to a valid region, not a malformed scope.");
  }
  if (scope[0] != options.access_key_id) {
    return Fail(failure, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
  }
  if (scope[2] != options.region) {
    return Fail(failure, "InvalidSignatureException",
                fmt::format("Credential should be scoped to a valid region, not '{}'.", scope[2]));
  }
  if (scope[3] != "lambda") {
    return Fail(failure, "InvalidSignatureException",
                fmt::format("Credential should be scoped to correct service: 'lambda'."));
  }
  std::string amz_date(req["X-Amz-Date"]);
  int64_t signed_at = 0;
  if (amz_date.empty() || !aws::ParseAmzDate(amz_date, &signed_at)) {
    return Fail(failure, "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header.");
  }
  int64_t now = SystemClock::Get().NowEpochMs() / 1000;
  if (std::llabs(now - signed_at) > 15 * 60) {
    return Fail(failure, "InvalidSignatureException",
                fmt::format("Signature expired: {} is now earlier than {} ({} - 5 min.)", amz_date,
                            aws::FormatAmzDate(now - 5 * 60), aws::FormatAmzDate(now)));
  }
  if (amz_date.substr(0, 8) != scope[1]) {
    return Fail(failure, "InvalidSignatureException",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP.");
  }

  aws::CanonicalInput in;
  in.method = std::string(req.method_string());
  std::string target(req.target());
  size_t q = target.find('?');
  in.wire_path = target.substr(0, q);
  if (q != std::string::npos) in.wire_query = target.substr(q + 1);
  // Only the headers the client says it signed, with all their values.
  std::vector<std::string> names;
  for (size_t s = 0;;) {
    size_t semi = signed_headers.find(';', s);
    names.push_back(signed_headers.substr(s, semi == std::string::npos ? std::string::npos : semi - s));
    if (semi == std::string::npos) break;
    s = semi + 1;
  }
  for (const auto& field : req) {
    std::string name = Lower(std::string(field.name_string()));
    for (const auto& n : names) {
      if (n == name) in.headers.emplace_back(name, std::string(field.value()));
    }
  }
  std::string content_sha(req["x-amz-content-sha256"]);
  if (!content_sha.empty()) {
    in.payload_hash = content_sha;
    if (!body_unread && content_sha != aws::kUnsignedPayload &&
        content_sha != Sha256Hex(req.body())) {
      return Fail(failure, "InvalidSignatureException",
                  "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  } else {
    in.payload_hash = Sha256Hex(req.body());
  }
  aws::SigningResult r =
      aws::ComputeSignature(in, options.secret_access_key, scope[2], scope[3], amz_date,
                            /*normalize=*/true, /*double_encode=*/true);
  if (r.signature.size() != signature.size() ||
      CRYPTO_memcmp(r.signature.data(), signature.data(), signature.size()) != 0) {
    return Fail(failure, "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details.");
  }
  return true;
}

}  // namespace parallelagram::local
