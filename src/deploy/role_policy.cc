#include "deploy/role_policy.h"

#include <nlohmann/json.hpp>

namespace parallelagram::deploy {

std::string LambdaTrustPolicy() {
  nlohmann::json doc = {{"Version", "2012-10-17"},
                        {"Statement",
                         {{{"Effect", "Allow"},
                           {"Principal", {{"Service", "lambda.amazonaws.com"}}},
                           {"Action", "sts:AssumeRole"}}}}};
  return doc.dump();
}

std::string WorkerRolePolicy(const WorkerPolicyScope& s) {
  const std::string bucket_arn = "arn:" + s.partition + ":s3:::" + s.bucket;
  nlohmann::json statements = nlohmann::json::array();
  statements.push_back({{"Sid", "JobObjects"},
                        {"Effect", "Allow"},
                        {"Action", {"s3:GetObject", "s3:PutObject"}},
                        {"Resource", bucket_arn + "/" + s.prefix + "/*"}});
  statements.push_back({{"Sid", "ListJobPrefix"},
                        {"Effect", "Allow"},
                        {"Action", "s3:ListBucket"},
                        {"Resource", bucket_arn},
                        {"Condition", {{"StringLike", {{"s3:prefix", s.prefix + "/*"}}}}}});
  if (s.logs) {
    const std::string group = "arn:" + s.partition + ":logs:" + s.region + ":" + s.account +
                              ":log-group:/aws/lambda/" + s.function_name;
    statements.push_back(
        {{"Sid", "Logs"},
         {"Effect", "Allow"},
         {"Action", {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}},
         {"Resource", {group, group + ":*"}}});
  }
  nlohmann::json doc = {{"Version", "2012-10-17"}, {"Statement", statements}};
  return doc.dump();
}

}  // namespace parallelagram::deploy
