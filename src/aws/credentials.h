// Credentials: one set of AWS credentials, and the providers that find them.
//
// Credentials is a plain value type. `source` says in words where the
// credentials came from ("environment variables", "profile 'dev' in
// /home/u/.aws/credentials"); it never holds a secret and may be printed.
// ToString-like output of this type must never include secret_access_key or
// session_token.
#pragma once

#include <cstdint>
#include <string>

namespace parallelagram::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;        // empty for long-term keys
  int64_t expiration_epoch_ms = 0;  // 0: does not expire
  std::string source;               // human description; never secret

  bool empty() const { return access_key_id.empty() || secret_access_key.empty(); }
  bool expires() const { return expiration_epoch_ms != 0; }
};

}  // namespace parallelagram::aws
