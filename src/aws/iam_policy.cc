#include "aws/iam_policy.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace parallelagram::aws {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool Glob(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || Lower(p[pi]) == Lower(s[si]))) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// True when the Action/NotAction element (string or array of strings) matches.
Result<bool> ElementMatches(const nlohmann::json& el, std::string_view action) {
  if (el.is_string()) return Glob(el.get<std::string>(), action);
  if (!el.is_array())
    return Status::InvalidArgument("IAM policy: Action is neither string nor list");
  for (const auto& a : el) {
    if (!a.is_string())
      return Status::InvalidArgument("IAM policy: Action list holds a non-string");
    if (Glob(a.get<std::string>(), action)) return true;
  }
  return false;
}

}  // namespace

bool ActionPatternMatches(std::string_view pattern, std::string_view action) {
  return Glob(pattern, action);
}

Result<PolicyDecision> EvaluatePolicy(std::string_view policy_json, std::string_view action) {
  nlohmann::json doc = nlohmann::json::parse(policy_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("IAM policy: the document is not a JSON object");
  }
  auto it = doc.find("Statement");
  if (it == doc.end()) return Status::InvalidArgument("IAM policy: no Statement");
  std::vector<nlohmann::json> statements;
  if (it->is_array()) {
    for (const auto& s : *it) statements.push_back(s);
  } else {
    statements.push_back(*it);
  }
  PolicyDecision decision = PolicyDecision::kNotMentioned;
  for (const auto& st : statements) {
    if (!st.is_object()) return Status::InvalidArgument("IAM policy: a Statement is not an object");
    std::string effect = st.value("Effect", "");
    bool matches = false;
    if (st.contains("Action")) {
      PG_ASSIGN_OR_RETURN(matches, ElementMatches(st["Action"], action));
    } else if (st.contains("NotAction")) {
      PG_ASSIGN_OR_RETURN(bool excluded, ElementMatches(st["NotAction"], action));
      matches = !excluded;
    }
    if (!matches) continue;
    if (effect == "Deny") return PolicyDecision::kDenied;
    if (effect == "Allow") decision = PolicyDecision::kAllowed;
  }
  return decision;
}

Result<PolicyDecision> EvaluatePolicies(const std::vector<std::string>& policy_jsons,
                                        std::string_view action) {
  PolicyDecision decision = PolicyDecision::kNotMentioned;
  for (const auto& p : policy_jsons) {
    PG_ASSIGN_OR_RETURN(PolicyDecision d, EvaluatePolicy(p, action));
    if (d == PolicyDecision::kDenied) return d;
    if (d == PolicyDecision::kAllowed) decision = d;
  }
  return decision;
}

}  // namespace parallelagram::aws
