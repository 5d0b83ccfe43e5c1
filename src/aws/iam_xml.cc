#include "aws/iam_xml.h"

#include <pugixml.hpp>

#include "aws/xml_text.h"

namespace parallelagram::aws {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Loads `xml` and returns <`action`Response>/<`action`Result>.
Result<pugi::xml_node> ResultNode(pugi::xml_document& doc, std::string_view xml,
                                  std::string_view action) {
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  std::string op(action);
  if (!r) {
    return Status::ProtocolError("IAM " + op + ": response is not XML (" + r.description() + ")");
  }
  pugi::xml_node n = doc.child((op + "Response").c_str()).child((op + "Result").c_str());
  if (!n) return Status::ProtocolError("IAM " + op + ": no <" + op + "Result> in the answer");
  return n;
}

}  // namespace

QueryParams IamParams(std::string_view action) {
  return {{"Action", std::string(action)}, {"Version", kIamApiVersion}};
}

std::string DecodePolicyDocument(std::string_view doc) {
  size_t first = doc.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && doc[first] == '{') return std::string(doc);
  std::string out;
  out.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    if (doc[i] == '%' && i + 2 < doc.size() && HexVal(doc[i + 1]) >= 0 && HexVal(doc[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexVal(doc[i + 1]) * 16 + HexVal(doc[i + 2])));
      i += 2;
    } else {
      out.push_back(doc[i]);
    }
  }
  return out;
}

Result<IamRole> ParseIamRole(std::string_view xml, std::string_view action) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, action));
  pugi::xml_node role = res.child("Role");
  if (!role)
    return Status::ProtocolError("IAM " + std::string(action) + ": no <Role> in the answer");
  IamRole out;
  out.name = ChildText(role, "RoleName");
  out.arn = ChildText(role, "Arn");
  out.role_id = ChildText(role, "RoleId");
  out.path = ChildText(role, "Path");
  out.create_date = ChildText(role, "CreateDate");
  out.assume_role_policy_document =
      DecodePolicyDocument(ChildText(role, "AssumeRolePolicyDocument"));
  return out;
}

Result<IamNamePage> ParseListRolePolicies(std::string_view xml) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, "ListRolePolicies"));
  IamNamePage page;
  for (pugi::xml_node m : res.child("PolicyNames").children("member")) {
    page.names.push_back(m.text().as_string());
  }
  page.is_truncated = std::string_view(ChildText(res, "IsTruncated")) == "true";
  page.marker = ChildText(res, "Marker");
  return page;
}

Result<std::string> ParseGetRolePolicy(std::string_view xml) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, "GetRolePolicy"));
  return DecodePolicyDocument(ChildText(res, "PolicyDocument"));
}

Result<AttachedPolicyPage> ParseListAttachedRolePolicies(std::string_view xml) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, "ListAttachedRolePolicies"));
  AttachedPolicyPage page;
  for (pugi::xml_node m : res.child("AttachedPolicies").children("member")) {
    page.policies.push_back({ChildText(m, "PolicyName"), ChildText(m, "PolicyArn")});
  }
  page.is_truncated = std::string_view(ChildText(res, "IsTruncated")) == "true";
  page.marker = ChildText(res, "Marker");
  return page;
}

Result<std::string> ParseGetPolicyDefaultVersion(std::string_view xml) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, "GetPolicy"));
  std::string v = ChildText(res.child("Policy"), "DefaultVersionId");
  if (v.empty()) return Status::ProtocolError("IAM GetPolicy: no DefaultVersionId in the answer");
  return v;
}

Result<std::string> ParseGetPolicyVersionDocument(std::string_view xml) {
  pugi::xml_document doc;
  PG_ASSIGN_OR_RETURN(pugi::xml_node res, ResultNode(doc, xml, "GetPolicyVersion"));
  return DecodePolicyDocument(ChildText(res.child("PolicyVersion"), "Document"));
}

}  // namespace parallelagram::aws
