#include <gtest/gtest.h>

#include "aws/iam_policy.h"
#include "aws/iam_xml.h"

namespace parallelagram::aws {
namespace {

TEST(IamXml, ParsesRoleWithEncodedTrustPolicy) {
  const char* xml = R"(<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetRoleResult><Role><Path>/application_abc/</Path><RoleName>TestRole</RoleName>
  <RoleId>AROADBQP57FF2AEXAMPLE</RoleId><Arn>arn:aws:iam::123456789012:role/application_abc/TestRole</Arn>
  <CreateDate>2019-04-19T22:21:50Z</CreateDate>
  <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D</AssumeRolePolicyDocument>
  </Role></GetRoleResult><ResponseMetadata><RequestId>df37e965</RequestId></ResponseMetadata>
</GetRoleResponse>)";
  auto role = ParseIamRole(xml, "GetRole");
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  EXPECT_EQ(role->name, "TestRole");
  EXPECT_EQ(role->arn, "arn:aws:iam::123456789012:role/application_abc/TestRole");
  EXPECT_EQ(role->path, "/application_abc/");
  EXPECT_EQ(role->assume_role_policy_document, R"({"Version":"2012-10-17","Statement":[]})");
  EXPECT_EQ(ParseIamRole(xml, "CreateRole").status().code(), StatusCode::kProtocolError);
}

TEST(IamXml, ParsesPolicyListsAndDocuments) {
  auto names = ParseListRolePolicies(
      "<ListRolePoliciesResponse><ListRolePoliciesResult><PolicyNames><member>a</member>"
      "<member>b</member></PolicyNames><IsTruncated>false</IsTruncated></ListRolePoliciesResult>"
      "</ListRolePoliciesResponse>");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->names, (std::vector<std::string>{"a", "b"}));
  auto doc = ParseGetRolePolicy(
      "<GetRolePolicyResponse><GetRolePolicyResult><PolicyDocument>{\"Statement\":[]}"
      "</PolicyDocument></GetRolePolicyResult></GetRolePolicyResponse>");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*doc, "{\"Statement\":[]}");
  auto att = ParseListAttachedRolePolicies(
      "<ListAttachedRolePoliciesResponse><ListAttachedRolePoliciesResult><AttachedPolicies>"
      "<member><PolicyName>P</PolicyName><PolicyArn>arn:aws:iam::aws:policy/P</PolicyArn></member>"
      "</AttachedPolicies><IsTruncated>true</IsTruncated><Marker>m1</Marker>"
      "</ListAttachedRolePoliciesResult></ListAttachedRolePoliciesResponse>");
  ASSERT_TRUE(att.ok());
  ASSERT_EQ(att->policies.size(), 1u);
  EXPECT_EQ(att->policies[0].arn, "arn:aws:iam::aws:policy/P");
  EXPECT_TRUE(att->is_truncated);
  EXPECT_EQ(att->marker, "m1");
  EXPECT_EQ(*ParseGetPolicyDefaultVersion("<GetPolicyResponse><GetPolicyResult><Policy>"
                                          "<DefaultVersionId>v3</DefaultVersionId></Policy>"
                                          "</GetPolicyResult></GetPolicyResponse>"),
            "v3");
}

TEST(IamPolicy, ActionPatterns) {
  EXPECT_TRUE(ActionPatternMatches("logs:*", "logs:CreateLogStream"));
  EXPECT_TRUE(ActionPatternMatches("*", "logs:CreateLogStream"));
  EXPECT_TRUE(ActionPatternMatches("Logs:create*", "logs:CreateLogStream"));
  EXPECT_TRUE(ActionPatternMatches("logs:Create?ogStream", "logs:CreateLogStream"));
  EXPECT_FALSE(ActionPatternMatches("logs:CreateLogGroup", "logs:CreateLogStream"));
  EXPECT_FALSE(ActionPatternMatches("s3:*", "logs:CreateLogStream"));
}

TEST(IamPolicy, Decisions) {
  const std::string a = "logs:CreateLogStream";
  // AWSLambdaBasicExecutionRole's document.
  EXPECT_EQ(*EvaluatePolicy(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
      "logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})",
                            a),
            PolicyDecision::kAllowed);
  EXPECT_EQ(*EvaluatePolicy(R"({"Statement":{"Effect":"Allow","Action":"s3:GetObject"}})", a),
            PolicyDecision::kNotMentioned);
  EXPECT_EQ(*EvaluatePolicy(R"({"Statement":[{"Effect":"Allow","Action":"*"},
      {"Effect":"Deny","Action":"logs:*"}]})",
                            a),
            PolicyDecision::kDenied);
  EXPECT_EQ(*EvaluatePolicy(R"({"Statement":[{"Effect":"Allow","NotAction":"s3:*"}]})", a),
            PolicyDecision::kAllowed);
  EXPECT_EQ(*EvaluatePolicy(R"({"Statement":[{"Effect":"Allow","NotAction":["logs:*"]}]})", a),
            PolicyDecision::kNotMentioned);
  EXPECT_EQ(*EvaluatePolicies({R"({"Statement":[{"Effect":"Allow","Action":"logs:*"}]})",
                               R"({"Statement":[{"Effect":"Deny","Action":"logs:Create*"}]})"},
                              a),
            PolicyDecision::kDenied);
  EXPECT_EQ(EvaluatePolicy("nope", a).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluatePolicy(R"({"Statement":[{"Effect":"Allow","Action":3}]})", a).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parallelagram::aws
