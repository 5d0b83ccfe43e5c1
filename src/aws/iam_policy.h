// Evaluates whether IAM policy documents allow one action, the way IAM does
// for identity policies, ignoring Resource and Condition (a statement that
// names the action counts whatever its resources): an explicit Deny wins over
// any Allow; no matching statement means not allowed.
//
// Pure functions: thread-safe. A document that is not JSON, or not shaped like
// a policy, gives kInvalidArgument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::aws {

enum class PolicyDecision {
  kNotMentioned,  // no statement matches the action: implicitly denied
  kAllowed,
  kDenied,  // an explicit Deny matches
};

// IAM's action matching: case-insensitive, with '*' and '?' wildcards.
bool ActionPatternMatches(std::string_view pattern, std::string_view action);

// The decision of one policy document for `action` (e.g. "logs:CreateLogStream").
Result<PolicyDecision> EvaluatePolicy(std::string_view policy_json, std::string_view action);

// The combined decision of several documents (Deny beats Allow beats nothing).
Result<PolicyDecision> EvaluatePolicies(const std::vector<std::string>& policy_jsons,
                                        std::string_view action);

}  // namespace parallelagram::aws
