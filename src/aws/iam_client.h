// IamClient: the IAM operations Parallelagram uses (query protocol, the global
// endpoint, signing region us-east-1), on the shared AWS request core.
//
// Thread-safety: not thread-safe; call on the AwsClient's loop thread only.
// Every `done` is called exactly once on the loop thread, never from inside
// the call. Lifetime: borrows `aws` (configured with service "iam", kQuery,
// region "us-east-1"), which must outlive the IamClient and every call.
// Errors: AwsError from the core ("iam <Operation>: <Code>: <message> (HTTP n,
// request id x)"); an unparseable answer gives kProtocolError.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/iam_xml.h"

namespace parallelagram::aws {

// Form-encodes query parameters (AWS URI encoding) for a query-protocol POST body.
std::string FormEncode(const QueryParams& params);

class IamClient {
 public:
  explicit IamClient(AwsClient& aws) : aws_(aws) {}

  template <typename T>
  using Done = std::function<void(AwsResult<T>)>;
  struct Empty {};

  void CreateRole(const std::string& role_name, const std::string& assume_role_policy_document,
                  const std::string& description, Done<IamRole> done);
  void GetRole(const std::string& role_name, Done<IamRole> done);
  void DeleteRole(const std::string& role_name, Done<Empty> done);
  // Inline policy `policy_name` of the role, created or replaced.
  void PutRolePolicy(const std::string& role_name, const std::string& policy_name,
                     const std::string& policy_document, Done<Empty> done);
  void DeleteRolePolicy(const std::string& role_name, const std::string& policy_name,
                        Done<Empty> done);
  // For `doctor`: every policy document in effect on the role (inline ones and
  // the default version of each attached managed policy), decoded JSON.
  void GetRolePolicyDocuments(const std::string& role_name, Done<std::vector<std::string>> done);

  // One query call: POSTs `params` and returns the raw answer.
  void Call(const std::string& action, QueryParams params, Done<HttpResponse> done);

 private:
  AwsClient& aws_;
};

// The role name in a role ARN ("arn:aws:iam::1:role/path/name" -> "name"); ""
// when `arn` is not a role ARN.
std::string RoleNameFromArn(const std::string& arn);

}  // namespace parallelagram::aws
