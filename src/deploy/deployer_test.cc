#include "deploy/deployer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "aws/iam_policy.h"
#include "deploy/deployment_record.h"
#include "deploy/role_policy.h"

namespace parallelagram::deploy {
namespace {

TEST(ReservedConcurrencyTest, RefusesToLeaveUnder100Unreserved) {
  auto ok = ChooseReservedConcurrency(300, 400);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(**ok, 300);
  auto too_many = ChooseReservedConcurrency(301, 400);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("at most 300"), std::string::npos);
  EXPECT_FALSE(ChooseReservedConcurrency(-1, 400).ok());
}

TEST(ReservedConcurrencyTest, DefaultIsHalfOfWhatCanBeSparedCappedAt1000) {
  EXPECT_EQ(**ChooseReservedConcurrency(std::nullopt, 1000), 450);
  EXPECT_EQ(**ChooseReservedConcurrency(std::nullopt, 10000), 1000);
  EXPECT_EQ(*ChooseReservedConcurrency(std::nullopt, 10), std::nullopt);  // new accounts
  EXPECT_EQ(*ChooseReservedConcurrency(std::nullopt, 100), std::nullopt);
}

TEST(RolePolicyTest, LeastPrivilegeAndNoLogsMeansNoCreateLogStream) {
  WorkerPolicyScope scope{"aws", "eu-west-1", "123456789012", "fn", "bkt", "pfx", true};
  std::string with_logs = WorkerRolePolicy(scope);
  EXPECT_EQ(*aws::EvaluatePolicy(with_logs, "s3:GetObject"), aws::PolicyDecision::kAllowed);
  EXPECT_EQ(*aws::EvaluatePolicy(with_logs, "s3:PutObject"), aws::PolicyDecision::kAllowed);
  EXPECT_EQ(*aws::EvaluatePolicy(with_logs, "s3:DeleteBucket"), aws::PolicyDecision::kNotMentioned);
  EXPECT_EQ(*aws::EvaluatePolicy(with_logs, "logs:CreateLogStream"), aws::PolicyDecision::kAllowed);
  EXPECT_NE(with_logs.find("arn:aws:s3:::bkt/pfx/*"), std::string::npos);
  EXPECT_NE(with_logs.find("log-group:/aws/lambda/fn"), std::string::npos);
  scope.logs = false;
  std::string no_logs = WorkerRolePolicy(scope);
  EXPECT_EQ(*aws::EvaluatePolicy(no_logs, "logs:CreateLogStream"),
            aws::PolicyDecision::kNotMentioned);
  EXPECT_EQ(no_logs.find("logs:"), std::string::npos);
  EXPECT_NE(LambdaTrustPolicy().find("lambda.amazonaws.com"), std::string::npos);
}

TEST(DeploymentRecordTest, RoundTripsAndSaysWhatToDoWhenMissing) {
  std::string dir = ::testing::TempDir() + "/pg-record-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::string path = dir + "/sub/deployment.json";
  auto missing = LoadDeployment(path);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("parallelagram deploy"), std::string::npos);
  DeploymentRecord r;
  r.function_name = "fn";
  r.bucket = "b";
  r.prefix = "p";
  r.reserved_concurrency = 7;
  r.created_role = true;
  ASSERT_TRUE(SaveDeployment(path, r).ok());
  auto back = LoadDeployment(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->function_name, "fn");
  EXPECT_EQ(back->reserved_concurrency, 7);
  EXPECT_TRUE(back->created_role);
  EXPECT_FALSE(back->created_bucket);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parallelagram::deploy
