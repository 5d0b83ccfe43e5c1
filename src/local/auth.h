// SigV4 verification of Lambda API requests, as AWS answers them: a missing signature,
// an unknown access key and a wrong signature each get AWS's 403 error type. Built on the
// aws layer's verifier (aws/sigv4_verify.h). Pure and thread-safe.
#pragma once

#include <string>

#include "local/http_server.h"
#include "local/local_lambda.h"

namespace parallelagram::local {

struct AuthFailure {
  int status = 403;
  std::string type;     // MissingAuthenticationTokenException, IncompleteSignatureException,
                        // UnrecognizedClientException, InvalidSignatureException
  std::string message;  // AWS's message; never holds a secret
};

// True when `req` carries a valid SigV4 Authorization header made with
// options.access_key_id/secret_access_key for service "lambda" in options.region, within
// 5 minutes of now. `body_unread`: the body exceeded the limit and was not read (then the
// signature is checked against the x-amz-content-sha256 header alone).
bool VerifyRequestSignature(const HttpRequestMsg& req, bool body_unread,
                            const LocalLambdaOptions& options, AuthFailure* failure);

}  // namespace parallelagram::local
