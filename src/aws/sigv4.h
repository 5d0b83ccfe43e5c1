// SigV4: AWS Signature Version 4, header and presigned-query forms.
//
// Conventions: an HttpRequest's url must already be percent-encoded the AWS
// way (UriEncode below: everything but A-Z a-z 0-9 - _ . ~ is %XX-encoded,
// '/' kept in paths). The signer canonicalises the path and query from that
// wire form exactly as AWS and botocore do:
//  - non-S3 services: dot segments and repeated slashes removed, then the wire
//    path encoded again ("double encoding": a key "a b" is /a%20b on the wire
//    and /a%2520b in the canonical request);
//  - S3 (s3_rules): no normalisation, each segment encoded once;
//  - query: each key and value is decoded and re-encoded, pairs sorted by key
//    then value; a key without '=' has an empty value.
// Headers signed: every header of the request except hop-by-hop ones
// (connection, expect, keep-alive, proxy-*, te, trailer, transfer-encoding,
// upgrade), user-agent and x-amzn-trace-id, plus host (taken from the url,
// without a default port) and the x-amz-* headers the signer adds.
//
// All functions are pure and thread-safe. Errors: only an unparseable url or an
// unreadable body_file give a non-OK Status; the message never holds a secret.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aws/credentials.h"
#include "http/http_client.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigningParams {
  std::string service;               // signing name: "s3", "lambda", "iam", "sts"
  std::string region;                // signing region ("us-east-1" for iam)
  int64_t epoch_seconds = 0;         // signing time (UTC)
  bool s3_rules = false;             // S3: no path normalisation, single encoding;
                                     // implies sign_content_sha256
  bool unsigned_payload = false;     // payload hash "UNSIGNED-PAYLOAD" (S3 uploads over TLS)
  bool sign_content_sha256 = false;  // add and sign x-amz-content-sha256. Set it for Lambda
                                     // too: moto hashes a GET's query as its body otherwise.
  bool sign_session_token = true;    // false: X-Amz-Security-Token is added after signing
                                     // and not signed (the vectors' "omit_session_token")
  bool normalize_path = true;        // non-S3 only: remove dot segments / repeated slashes
  std::string payload_hash;          // precomputed hex SHA-256 of the body; empty: computed
                                     // from body or body_file (streamed)
};

// The intermediate results, exposed for tests, logs (no secrets in them) and
// for a server that verifies signatures.
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;         // lower-case hex
  std::string signed_headers;    // "host;x-amz-date"
  std::string credential_scope;  // "20150830/us-east-1/service/aws4_request"
  std::string amz_date;          // "20150830T123600Z"
  std::string payload_hash;
};

// --- Building blocks -------------------------------------------------------

// Percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/' if keep_slash),
// with upper-case hex.
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes; a '%' not followed by two hex digits is kept as is.
// '+' is kept as '+'.
std::string UriDecode(std::string_view s);
// "YYYYMMDDTHHMMSSZ" for the given UTC epoch seconds.
std::string FormatAmzDate(int64_t epoch_seconds);
// Parses "YYYYMMDDTHHMMSSZ"; returns false when malformed.
bool ParseAmzDate(std::string_view s, int64_t* epoch_seconds);

// Canonical path from a wire (already encoded) path, see the top of this file.
// `double_encode` is true for non-S3 services.
std::string CanonicalUri(std::string_view wire_path, bool normalize, bool double_encode);
// Canonical query from a wire query (without '?'). Pairs whose key is
// `skip_key` (e.g. "X-Amz-Signature" when verifying a presigned url) are left out.
std::string CanonicalQuery(std::string_view wire_query, std::string_view skip_key = {});
// Collapses runs of spaces/tabs/newlines to one space and trims both ends.
std::string TrimAll(std::string_view value);
// True for headers never signed (hop-by-hop, user-agent, x-amzn-trace-id, authorization).
bool IsUnsignableHeader(std::string_view lower_name);

// The raw material of a signature: the request as it is on the wire.
struct CanonicalInput {
  std::string method;
  std::string wire_path;   // e.g. "/a%20b" ("" means "/")
  std::string wire_query;  // without '?'; may be empty
  HttpHeaders headers;     // must include host; names in any case; duplicates allowed
  std::string payload_hash;
};

// Builds the canonical request signing exactly the headers in `headers`
// (except unsignable ones when drop_unsignable_headers; a verifier passes false
// and the headers the client listed), the string to sign and the signature.
// `normalize`/`double_encode` as for CanonicalUri; `skip_query_key` as for CanonicalQuery.
SigningResult ComputeSignature(const CanonicalInput& in, std::string_view secret_access_key,
                               const std::string& region, const std::string& service,
                               const std::string& amz_date, bool normalize, bool double_encode,
                               std::string_view skip_query_key = {},
                               bool drop_unsignable_headers = true);

// The derived signing key (raw bytes) for a date "YYYYMMDD".
std::string DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service);

// --- Signing an HttpRequest ------------------------------------------------

// Signs `request` in place with an Authorization header. Adds X-Amz-Date,
// X-Amz-Security-Token (when the credentials have a session token) and
// x-amz-content-sha256 (s3_rules, sign_content_sha256 or unsigned_payload),
// replacing earlier values of these headers and of Authorization, so that a
// retried request can be re-signed. `result` (optional) receives the pieces.
Status SignRequest(HttpRequest& request, const Credentials& credentials,
                   const SigningParams& params, SigningResult* result = nullptr);

// Presigned-query form: rewrites request.url to carry X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders,
// X-Amz-Security-Token (if any) and X-Amz-Signature. Headers present on the
// request are signed (the caller must send them); host always. The payload hash
// is UNSIGNED-PAYLOAD for s3_rules or unsigned_payload, else the body's hash.
Status PresignRequest(HttpRequest& request, const Credentials& credentials,
                      const SigningParams& params, int64_t expires_seconds,
                      SigningResult* result = nullptr);

// Splits "scheme://host[:port]/path?query#frag" into the wire path ("/" if
// empty), query (no '?') and the value of the host header (lower-case, default
// port dropped). Returns false when there is no "://".
bool SplitUrl(std::string_view url, std::string* host_header, std::string* wire_path,
              std::string* wire_query);

}  // namespace parallelagram::aws
