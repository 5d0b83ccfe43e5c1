#include "aws/iam_client.h"

#include <memory>
#include <optional>
#include <utility>

#include "aws/sigv4.h"

namespace parallelagram::aws {
namespace {}  // namespace

std::string FormEncode(const QueryParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return out;
}

std::string RoleNameFromArn(const std::string& arn) {
  size_t p = arn.find(":role/");
  if (arn.rfind("arn:", 0) != 0 || p == std::string::npos) return "";
  std::string rest = arn.substr(p + 6);
  size_t slash = rest.rfind('/');
  return slash == std::string::npos ? rest : rest.substr(slash + 1);
}

void IamClient::Call(const std::string& action, QueryParams params, Done<HttpResponse> done) {
  QueryParams all = IamParams(action);
  for (auto& p : params) all.push_back(std::move(p));
  AwsRequest req;
  req.operation = action;
  req.http.method = "POST";
  req.http.url = "/";
  req.http.body = FormEncode(all);
  req.http.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  aws_.Send(std::move(req), std::move(done));
}

void IamClient::CreateRole(const std::string& role_name,
                           const std::string& assume_role_policy_document,
                           const std::string& description, Done<IamRole> done) {
  QueryParams p = {{"RoleName", role_name},
                   {"AssumeRolePolicyDocument", assume_role_policy_document}};
  if (!description.empty()) p.emplace_back("Description", description);
  Call("CreateRole", std::move(p), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    auto role = ParseIamRole(r->body, "CreateRole");
    if (!role.ok()) return done(ClientError(role.status()));
    done(std::move(role).value());
  });
}

void IamClient::GetRole(const std::string& role_name, Done<IamRole> done) {
  Call("GetRole", {{"RoleName", role_name}}, [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    auto role = ParseIamRole(r->body, "GetRole");
    if (!role.ok()) return done(ClientError(role.status()));
    done(std::move(role).value());
  });
}

void IamClient::DeleteRole(const std::string& role_name, Done<Empty> done) {
  Call("DeleteRole", {{"RoleName", role_name}},
       [done = std::move(done)](AwsResult<HttpResponse> r) {
         if (!r.ok()) return done(std::move(r.error()));
         done(Empty{});
       });
}

void IamClient::PutRolePolicy(const std::string& role_name, const std::string& policy_name,
                              const std::string& policy_document, Done<Empty> done) {
  Call("PutRolePolicy",
       {{"RoleName", role_name}, {"PolicyName", policy_name}, {"PolicyDocument", policy_document}},
       [done = std::move(done)](AwsResult<HttpResponse> r) {
         if (!r.ok()) return done(std::move(r.error()));
         done(Empty{});
       });
}

void IamClient::DeleteRolePolicy(const std::string& role_name, const std::string& policy_name,
                                 Done<Empty> done) {
  Call("DeleteRolePolicy", {{"RoleName", role_name}, {"PolicyName", policy_name}},
       [done = std::move(done)](AwsResult<HttpResponse> r) {
         if (!r.ok()) return done(std::move(r.error()));
         done(Empty{});
       });
}

// Lists the inline policy names and the attached policy ARNs (following
// markers), then fetches every document, several at once.
struct PolicyGather {
  std::string role;
  std::vector<std::string> inline_names;
  std::vector<std::string> attached_arns;
  std::vector<std::string> docs;
  int pending = 0;
  std::optional<AwsError> failure;
  IamClient::Done<std::vector<std::string>> done;

  void Finish() {
    if (!done) return;
    auto d = std::move(done);
    done = nullptr;
    if (failure) return d(std::move(*failure));
    d(std::move(docs));
  }
};

void IamClient::GetRolePolicyDocuments(const std::string& role_name,
                                       Done<std::vector<std::string>> done) {
  auto st = std::make_shared<PolicyGather>();
  st->role = role_name;
  st->done = std::move(done);

  auto fetch_docs = [this, st] {
    st->pending = static_cast<int>(st->inline_names.size() + st->attached_arns.size());
    if (st->pending == 0) return st->Finish();
    auto one_done = [st](AwsResult<std::string> r) {
      if (!r.ok()) {
        if (!st->failure) st->failure = std::move(r.error());
      } else {
        st->docs.push_back(std::move(r).value());
      }
      if (--st->pending == 0) st->Finish();
    };
    for (const auto& name : st->inline_names) {
      Call("GetRolePolicy", {{"RoleName", st->role}, {"PolicyName", name}},
           [one_done](AwsResult<HttpResponse> r) {
             if (!r.ok()) return one_done(std::move(r.error()));
             auto doc = ParseGetRolePolicy(r->body);
             if (!doc.ok()) return one_done(ClientError(doc.status()));
             one_done(std::move(doc).value());
           });
    }
    for (const auto& arn : st->attached_arns) {
      Call("GetPolicy", {{"PolicyArn", arn}}, [this, arn, one_done](AwsResult<HttpResponse> r) {
        if (!r.ok()) return one_done(std::move(r.error()));
        auto ver = ParseGetPolicyDefaultVersion(r->body);
        if (!ver.ok()) return one_done(ClientError(ver.status()));
        Call("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", *ver}},
             [one_done](AwsResult<HttpResponse> r2) {
               if (!r2.ok()) return one_done(std::move(r2.error()));
               auto doc = ParseGetPolicyVersionDocument(r2->body);
               if (!doc.ok()) return one_done(ClientError(doc.status()));
               one_done(std::move(doc).value());
             });
      });
    }
  };

  // Marker-following listers, written as self-scheduling steps.
  auto list_attached = std::make_shared<std::function<void(std::string)>>();
  std::weak_ptr<std::function<void(std::string)>> weak_attached = list_attached;
  *list_attached = [this, st, fetch_docs, weak_attached](std::string marker) {
    auto self = weak_attached.lock();
    QueryParams p = {{"RoleName", st->role}};
    if (!marker.empty()) p.emplace_back("Marker", marker);
    Call("ListAttachedRolePolicies", std::move(p),
         [st, fetch_docs, self](AwsResult<HttpResponse> r) {
           if (!r.ok()) {
             st->failure = std::move(r.error());
             return st->Finish();
           }
           auto page = ParseListAttachedRolePolicies(r->body);
           if (!page.ok()) {
             st->failure = ClientError(page.status());
             return st->Finish();
           }
           for (auto& a : page->policies) st->attached_arns.push_back(a.arn);
           if (page->is_truncated && !page->marker.empty()) return (*self)(page->marker);
           fetch_docs();
         });
  };

  auto list_inline = std::make_shared<std::function<void(std::string)>>();
  std::weak_ptr<std::function<void(std::string)>> weak_inline = list_inline;
  *list_inline = [this, st, list_attached, weak_inline](std::string marker) {
    auto self = weak_inline.lock();
    QueryParams p = {{"RoleName", st->role}};
    if (!marker.empty()) p.emplace_back("Marker", marker);
    Call("ListRolePolicies", std::move(p), [st, self, list_attached](AwsResult<HttpResponse> r) {
      if (!r.ok()) {
        st->failure = std::move(r.error());
        return st->Finish();
      }
      auto page = ParseListRolePolicies(r->body);
      if (!page.ok()) {
        st->failure = ClientError(page.status());
        return st->Finish();
      }
      for (auto& n : page->names) st->inline_names.push_back(std::move(n));
      if (page->is_truncated && !page->marker.empty()) return (*self)(page->marker);
      (*list_attached)("");
    });
  };
  (*list_inline)("");
}

}  // namespace parallelagram::aws
