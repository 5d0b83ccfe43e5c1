#include "aws/sts_credentials.h"

#include <fstream>
#include <sstream>
#include <utility>

namespace parallelagram::aws {
Result<Credentials> AssumeRoleProvider::Fetch() {
  auto src = source_->Fetch();
  if (!src.ok()) return src.status().WithContext(description_);
  auto c = sts_->AssumeRole(*src, params_);
  if (!c.ok()) return c.status().WithContext(description_);
  c->source = description_;
  return c;
}

Result<Credentials> WebIdentityProvider::Fetch() {
  std::ifstream f(token_file_, std::ios::binary);
  if (!f) return Status::IoError(description_ + ": cannot read token file " + token_file_);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty()) return Status::InvalidArgument(description_ + ": token file is empty");
  auto c = sts_->AssumeRoleWithWebIdentity(params_, token);
  if (!c.ok()) return c.status().WithContext(description_);
  c->source = description_;
  return c;
}

}  // namespace parallelagram::aws
