// Server-side SigV4 verification, for local-lambda: checks an incoming
// request's Authorization header (or presigned query) and, when it is not
// valid, says which error AWS would answer with, so the server can reply
// exactly as AWS does (HTTP status, x-amzn-ErrorType / __type, message).
//
// Pure and thread-safe (the lookup is called on the caller's thread).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_client.h"

namespace parallelagram::aws {

// An AWS authentication failure as the service reports it.
struct AuthError {
  int http_status = 403;
  std::string error_type;  // e.g. "InvalidSignatureException"
  std::string message;     // AWS's message text; never holds a secret
};

// What the server knows about an access key.
struct KnownKey {
  std::string secret_access_key;
  std::string session_token;             // non-empty: the request must carry exactly this
  int64_t expiration_epoch_seconds = 0;  // non-zero: the key/token expires then
};
// Returns the key's details, or nullopt when the access key id is unknown.
using KeyLookup = std::function<std::optional<KnownKey>(const std::string& access_key_id)>;

// An incoming request, as read off the wire.
struct IncomingRequest {
  std::string method;
  std::string raw_path;      // the request-target's path, still percent-encoded
  std::string raw_query;     // after '?', still percent-encoded; may be empty
  HttpHeaders headers;       // as received (any case; duplicates allowed)
  std::string_view body;     // used to hash the payload when payload_hash is empty
  std::string payload_hash;  // optional precomputed hex SHA-256 of the body
};

struct VerifyOptions {
  bool s3_rules = false;           // S3 path rules (not needed by local-lambda)
  int64_t max_skew_seconds = 300;  // AWS allows 5 minutes either way
  std::string expected_service;    // non-empty: the credential scope must name it
};

// What a valid signature says about the caller.
struct VerifiedCaller {
  std::string access_key_id;
  std::string region;
  std::string service;
};

// Returns nullopt when the request is validly signed (filling `caller` if
// given), else the AWS error:
//  - no Authorization header and no X-Amz-Signature query:
//      MissingAuthenticationTokenException "Missing Authentication Token";
//  - malformed Authorization / missing X-Amz-Date: IncompleteSignatureException;
//  - unknown access key or wrong session token: UnrecognizedClientException
//      "The security token included in the request is invalid.";
//  - expired key: ExpiredTokenException "The security token included in the request is expired";
//  - date more than max_skew_seconds off: InvalidSignatureException "Signature expired: ..."
//      (or "Signature not yet current: ...");
//  - signature mismatch: InvalidSignatureException "The request signature we calculated does
//      not match the signature you provided. ...".
// All with HTTP status 403.
std::optional<AuthError> VerifySigV4(const IncomingRequest& request, const KeyLookup& lookup,
                                     int64_t now_epoch_seconds, const VerifyOptions& options = {},
                                     VerifiedCaller* caller = nullptr);

}  // namespace parallelagram::aws
