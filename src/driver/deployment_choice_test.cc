#include "driver/deployment_choice.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "deploy/deployment_store.h"

namespace parallelagram::driver {
namespace {

class DeploymentChoiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = ::testing::TempDir() + "/pg-choice-test-" + std::to_string(::getpid());
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_);
  }
  void TearDown() override { std::filesystem::remove_all(home_); }
  void Record(const std::string& function, const std::string& bucket) {
    deploy::DeploymentRecord r;
    r.function_name = function;
    r.bucket = bucket;
    r.region = "eu-west-1";
    ASSERT_TRUE(deploy::DeploymentStore::Default(Env()).Save(r).ok());
  }
  aws::Environment Env(std::map<std::string, std::string> more = {}) const {
    more["HOME"] = home_;
    return aws::Environment(std::move(more));
  }
  std::string home_;
};

TEST_F(DeploymentChoiceTest, OneDeploymentNeedsNoFlagSeveralNeedAFunction) {
  Record("pg", "b1");
  auto one = ChooseDeployment("", "", "", Env());
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->function_name, "pg");
  EXPECT_EQ(one->region, "eu-west-1");
  Record("pg-big", "b2");
  auto none = ChooseDeployment("", "", "", Env());
  ASSERT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("(pg, pg-big)"), std::string::npos);
  auto big = ChooseDeployment("", "pg-big", "", Env());
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->bucket, "b2");
  auto by_env = ChooseDeployment("", "", "", Env({{kFunctionEnvVar, "pg"}}));
  ASSERT_TRUE(by_env.ok());
  EXPECT_EQ(by_env->bucket, "b1");
  auto flag_wins = ChooseDeployment("", "pg-big", "", Env({{kFunctionEnvVar, "pg"}}));
  EXPECT_EQ(flag_wins->bucket, "b2");
  // Neither recorded nor given a bucket: which one to borrow is unclear.
  auto unknown = ChooseDeployment("", "other", "", Env());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("give --bucket"), std::string::npos);
}

TEST_F(DeploymentChoiceTest, TheEnvironmentAloneIsEnoughWithNoHome) {
  aws::Environment lambda_like(
      {{"PATH", "/usr/bin:/bin"}, {kFunctionEnvVar, "worker"}, {kBucketEnvVar, "jobs-bucket"}});
  auto chosen = ChooseDeployment("", "", "", lambda_like);
  ASSERT_TRUE(chosen.ok()) << chosen.status().message();
  EXPECT_EQ(chosen->function_name, "worker");
  EXPECT_EQ(chosen->bucket, "jobs-bucket");
  auto missing = ChooseDeployment(
      "", "", "", aws::Environment(std::map<std::string, std::string>{{"PATH", "/bin"}}));
  ASSERT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("PARALLELAGRAM_FUNCTION"), std::string::npos);
}

TEST_F(DeploymentChoiceTest, AFunctionDeployedElsewhereBorrowsTheOnlyRecordedBucket) {
  Record("pg", "b1");
  auto other = ChooseDeployment("", "elsewhere", "", Env());
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(other->function_name, "elsewhere");
  EXPECT_EQ(other->bucket, "b1");
  auto given = ChooseDeployment("", "elsewhere", "mine", Env());
  EXPECT_EQ(given->bucket, "mine");
}

}  // namespace
}  // namespace parallelagram::driver
