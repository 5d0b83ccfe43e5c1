#include "aws/sigv4_verify.h"

#include <set>
#include <vector>

#include "aws/sigv4.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace parallelagram::aws {
namespace {

constexpr char kMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

AuthError Err(std::string type, std::string message) {
  return AuthError{403, std::move(type), std::move(message)};
}

const std::string* FindHeader(const HttpHeaders& headers, std::string_view lower_name) {
  for (const auto& h : headers) {
    if (AsciiLower(h.first) == lower_name) return &h.second;
  }
  return nullptr;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// Decoded value of the first query parameter named `key`, if any.
std::optional<std::string> QueryParam(std::string_view query, std::string_view key) {
  for (const std::string& pair : Split(query, '&')) {
    size_t eq = pair.find('=');
    if (UriDecode(pair.substr(0, eq)) == key) {
      return eq == std::string::npos ? "" : UriDecode(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

struct ParsedAuth {
  std::string credential;  // AKID/date/region/service/aws4_request
  std::string signed_headers;
  std::string signature;
  std::string amz_date;
  int64_t expires = -1;  // presigned only
};

}  // namespace

std::optional<AuthError> VerifySigV4(const IncomingRequest& request, const KeyLookup& lookup,
                                     int64_t now_epoch_seconds, const VerifyOptions& options,
                                     VerifiedCaller* caller) {
  ParsedAuth a;
  const bool presigned = QueryParam(request.raw_query, "X-Amz-Signature").has_value();
  const std::string* auth_header = FindHeader(request.headers, "authorization");
  if (!presigned && (auth_header == nullptr || Trim(*auth_header, " \t").empty())) {
    return Err("MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  if (presigned) {
    if (QueryParam(request.raw_query, "X-Amz-Algorithm").value_or("") != "AWS4-HMAC-SHA256") {
      return Err("IncompleteSignatureException",
                 "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    }
    a.credential = QueryParam(request.raw_query, "X-Amz-Credential").value_or("");
    a.signed_headers = QueryParam(request.raw_query, "X-Amz-SignedHeaders").value_or("");
    a.signature = QueryParam(request.raw_query, "X-Amz-Signature").value_or("");
    a.amz_date = QueryParam(request.raw_query, "X-Amz-Date").value_or("");
    std::string exp = QueryParam(request.raw_query, "X-Amz-Expires").value_or("");
    if (exp.empty() || exp.size() > 7 || exp.find_first_not_of("0123456789") != std::string::npos) {
      return Err("IncompleteSignatureException", "X-Amz-Expires must be a number of seconds");
    }
    a.expires = std::stoll(exp);
  } else {
    std::string h = Trim(*auth_header, " \t");
    constexpr std::string_view kAlg = "AWS4-HMAC-SHA256 ";
    if (h.compare(0, kAlg.size(), kAlg) != 0) {
      return Err("IncompleteSignatureException",
                 "Authorization header requires the AWS4-HMAC-SHA256 algorithm.");
    }
    for (const std::string& part : Split(std::string_view(h).substr(kAlg.size()), ',')) {
      std::string p = Trim(part, " \t");
      size_t eq = p.find('=');
      if (eq == std::string::npos) continue;
      std::string k = p.substr(0, eq), v = p.substr(eq + 1);
      if (k == "Credential") a.credential = v;
      if (k == "SignedHeaders") a.signed_headers = v;
      if (k == "Signature") a.signature = v;
    }
    for (auto [field, name] :
         {std::pair{&a.credential, "Credential"}, std::pair{&a.signed_headers, "SignedHeaders"},
          std::pair{&a.signature, "Signature"}}) {
      if (field->empty()) {
        return Err("IncompleteSignatureException",
                   std::string("Authorization header requires '") + name +
                       "' parameter. Authorization=AWS4-HMAC-SHA256");
      }
    }
    const std::string* d = FindHeader(request.headers, "x-amz-date");
    if (d == nullptr) {
      return Err("IncompleteSignatureException",
                 "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                 "header. Authorization=AWS4-HMAC-SHA256");
    }
    a.amz_date = Trim(*d, " \t");
  }

  std::vector<std::string> scope = Split(a.credential, '/');
  if (scope.size() != 5 || scope[4] != "aws4_request" || scope[0].empty()) {
    return Err("IncompleteSignatureException",
               "Credential should be scoped to a valid region, not a malformed scope.");
  }
  int64_t signed_at = 0;
  if (!ParseAmzDate(a.amz_date, &signed_at)) {
    return Err("IncompleteSignatureException",
               "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }

  std::optional<KnownKey> key = lookup(scope[0]);
  std::string token;
  if (presigned) {
    token = QueryParam(request.raw_query, "X-Amz-Security-Token").value_or("");
  } else if (const std::string* t = FindHeader(request.headers, "x-amz-security-token")) {
    token = Trim(*t, " \t");
  }
  if (!key || (!key->session_token.empty() && token != key->session_token)) {
    return Err("UnrecognizedClientException",
               "The security token included in the request is invalid.");
  }
  if (key->expiration_epoch_seconds != 0 && now_epoch_seconds >= key->expiration_epoch_seconds) {
    return Err("ExpiredTokenException", "The security token included in the request is expired");
  }

  if (a.amz_date.substr(0, 8) != scope[1]) {
    return Err("InvalidSignatureException",
               "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
               "from HTTP: '" +
                   scope[1] + "' != '" + a.amz_date.substr(0, 8) + "', from '" + a.amz_date + "'.");
  }
  if (!options.expected_service.empty() && scope[3] != options.expected_service) {
    return Err("InvalidSignatureException", "Credential should be scoped to correct service: '" +
                                                options.expected_service + "'. ");
  }
  const int64_t skew = options.max_skew_seconds;
  if (presigned) {
    if (now_epoch_seconds > signed_at + a.expires) {
      return Err("InvalidSignatureException", "Signature expired: " + a.amz_date +
                                                  " is now earlier than " +
                                                  FormatAmzDate(now_epoch_seconds - a.expires) +
                                                  " (" + FormatAmzDate(now_epoch_seconds) + " - " +
                                                  std::to_string(a.expires) + " sec.)");
    }
  } else if (signed_at < now_epoch_seconds - skew) {
    return Err("InvalidSignatureException",
               "Signature expired: " + a.amz_date + " is now earlier than " +
                   FormatAmzDate(now_epoch_seconds - skew) + " (" +
                   FormatAmzDate(now_epoch_seconds) + " - " + std::to_string(skew / 60) + " min.)");
  }
  if (signed_at > now_epoch_seconds + skew) {
    return Err("InvalidSignatureException",
               "Signature not yet current: " + a.amz_date + " is still later than " +
                   FormatAmzDate(now_epoch_seconds + skew) + " (" +
                   FormatAmzDate(now_epoch_seconds) + " + " + std::to_string(skew / 60) + " min.)");
  }

  std::set<std::string> signed_names;
  for (const std::string& n : Split(a.signed_headers, ';')) signed_names.insert(AsciiLower(n));
  if (!signed_names.count("host")) {
    return Err("InvalidSignatureException",
               "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  CanonicalInput in;
  in.method = request.method;
  in.wire_path = request.raw_path;
  in.wire_query = request.raw_query;
  for (const auto& h : request.headers) {
    if (signed_names.count(AsciiLower(h.first))) in.headers.push_back(h);
  }
  if (!request.payload_hash.empty()) {
    in.payload_hash = request.payload_hash;
  } else if (presigned && options.s3_rules) {
    in.payload_hash = std::string(kUnsignedPayload);
  } else if (const std::string* sha = FindHeader(request.headers, "x-amz-content-sha256");
             sha && Trim(*sha, " \t") == kUnsignedPayload) {
    in.payload_hash = std::string(kUnsignedPayload);
  } else {
    in.payload_hash = Sha256Hex(request.body);
  }
  SigningResult r =
      ComputeSignature(in, key->secret_access_key, scope[2], scope[3], a.amz_date,
                       /*normalize=*/!options.s3_rules,
                       /*double_encode=*/!options.s3_rules, presigned ? "X-Amz-Signature" : "",
                       /*drop_unsignable_headers=*/false);
  if (r.signed_headers != AsciiLower(a.signed_headers) || r.signature != a.signature) {
    return Err("InvalidSignatureException", kMismatch);
  }
  if (caller) *caller = VerifiedCaller{scope[0], scope[2], scope[3]};
  return std::nullopt;
}

}  // namespace parallelagram::aws
