// IAM's query protocol: the request parameters of the operations Parallelagram
// uses and the parsing of their XML answers (pugixml).
//
// Pure functions: thread-safe. Parse errors give kProtocolError naming the
// operation. Policy documents, which IAM returns URL-encoded (RFC 3986), are
// returned decoded.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::aws {

inline constexpr const char* kIamApiVersion = "2010-05-08";

// Query parameters, in order; "Action" and "Version" first. The caller's
// transport form-encodes them (AWS URI encoding) into a POST body.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

QueryParams IamParams(std::string_view action);

struct IamRole {
  std::string name;
  std::string arn;
  std::string role_id;
  std::string path;
  std::string create_date;
  std::string assume_role_policy_document;  // JSON, decoded
};

// <CreateRoleResponse> or <GetRoleResponse>: the <Role> inside `action`Result.
Result<IamRole> ParseIamRole(std::string_view xml, std::string_view action);

// A page of names from a list answer (ListRolePolicies: PolicyNames/member).
struct IamNamePage {
  std::vector<std::string> names;
  bool is_truncated = false;
  std::string marker;
};
Result<IamNamePage> ParseListRolePolicies(std::string_view xml);

// <GetRolePolicyResponse>: the decoded PolicyDocument.
Result<std::string> ParseGetRolePolicy(std::string_view xml);

struct AttachedPolicy {
  std::string name;
  std::string arn;
};
struct AttachedPolicyPage {
  std::vector<AttachedPolicy> policies;
  bool is_truncated = false;
  std::string marker;
};
Result<AttachedPolicyPage> ParseListAttachedRolePolicies(std::string_view xml);

// <GetPolicyResponse>: the policy's DefaultVersionId.
Result<std::string> ParseGetPolicyDefaultVersion(std::string_view xml);
// <GetPolicyVersionResponse>: the decoded Document.
Result<std::string> ParseGetPolicyVersionDocument(std::string_view xml);

// Decodes an IAM policy document: %XX escapes are undone unless the text is
// already raw JSON (starts with '{' after blanks).
std::string DecodePolicyDocument(std::string_view doc);

}  // namespace parallelagram::aws
