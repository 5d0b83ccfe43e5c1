#include "deploy/deployment_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace parallelagram::deploy {
namespace {

DeploymentRecord RecordOf(const std::string& function, const std::string& bucket) {
  DeploymentRecord r;
  r.function_name = function;
  r.bucket = bucket;
  r.prefix = "parallelagram";
  r.region = "us-east-1";
  r.created_function = true;
  return r;
}

class DeploymentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = ::testing::TempDir() + "/pg-store-test-" + std::to_string(::getpid());
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_);
  }
  void TearDown() override { std::filesystem::remove_all(home_); }
  DeploymentStore Store() const {
    return DeploymentStore::Default(aws::Environment({{"HOME", home_}}));
  }
  std::string home_;
};

TEST_F(DeploymentStoreTest, ASecondDeployKeepsTheFirstAndBothCanBePicked) {
  DeploymentStore store = Store();
  ASSERT_TRUE(store.Save(RecordOf("pg", "b1")).ok());
  auto only = store.Find("");
  ASSERT_TRUE(only.ok()) << only.status().message();
  EXPECT_EQ(only->record.function_name, "pg");
  ASSERT_TRUE(store.Save(RecordOf("pg-big", "b2")).ok());

  auto all = store.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].record.function_name, "pg");
  EXPECT_EQ((*all)[1].record.function_name, "pg-big");
  EXPECT_EQ((*all)[0].path, home_ + "/.config/parallelagram/deployments/pg.json");

  auto ambiguous = store.Find("");
  ASSERT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ambiguous.status().message(),
            "2 deployments are recorded (pg, pg-big): pick one with --function NAME");
  EXPECT_EQ(store.Find("pg")->record.bucket, "b1");
  EXPECT_EQ(store.Find("pg-big")->record.bucket, "b2");
  auto other = store.Find("nope");
  ASSERT_EQ(other.status().code(), StatusCode::kNotFound);
  EXPECT_NE(other.status().message().find("(recorded: pg, pg-big)"), std::string::npos);

  store.Forget("pg");
  EXPECT_EQ(store.Find("")->record.function_name, "pg-big");
}

TEST_F(DeploymentStoreTest, TheOldSingleRecordIsReadAndMovedByTheNextSaveOfItsFunction) {
  const std::string legacy = home_ + "/.config/parallelagram/deployment.json";
  ASSERT_TRUE(SaveDeployment(legacy, RecordOf("old", "b0")).ok());
  DeploymentStore store = Store();
  auto found = store.Find("");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->record.function_name, "old");
  EXPECT_EQ(found->path, legacy);

  // Another function's deploy leaves it alone: both are recorded.
  ASSERT_TRUE(store.Save(RecordOf("new", "b1")).ok());
  EXPECT_TRUE(std::filesystem::exists(legacy));
  EXPECT_EQ(store.List()->size(), 2u);

  // Its own function's deploy moves it into the directory.
  DeploymentRecord again = RecordOf("old", "b0");
  again.memory_mb = 2048;
  auto saved = store.Save(again);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(*saved, home_ + "/.config/parallelagram/deployments/old.json");
  EXPECT_FALSE(std::filesystem::exists(legacy));
  EXPECT_EQ(store.Find("old")->record.memory_mb, 2048);
  EXPECT_EQ(store.List()->size(), 2u);
}

TEST_F(DeploymentStoreTest, ASingleFileHoldsOneDeploymentAndRefusesAnother) {
  DeploymentStore store = DeploymentStore::SingleFile(home_ + "/one.json");
  EXPECT_EQ(store.Find("").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Save(RecordOf("pg", "b1")).ok());
  EXPECT_TRUE(store.CheckSavable("pg").ok());
  Status other = store.CheckSavable("pg-big");
  ASSERT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.message().find("records the deployment of function 'pg'"), std::string::npos);
  EXPECT_FALSE(store.Save(RecordOf("pg-big", "b2")).ok());
  EXPECT_EQ(store.Find("")->record.function_name, "pg");
}

TEST_F(DeploymentStoreTest, NoHomeMeansNoStore) {
  DeploymentStore store = DeploymentStore::Default(
      aws::Environment(std::map<std::string, std::string>{{"PATH", "/bin"}}));
  EXPECT_TRUE(store.List()->empty());
  EXPECT_EQ(store.Find("").status().code(), StatusCode::kNotFound);
  Status s = store.CheckSavable("pg");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--config FILE"), std::string::npos);
}

TEST(DeploymentStoreNames, FileNamesAreTheFunctionNameOrEscaped) {
  EXPECT_EQ(DeploymentStore::FileNameFor("pg-big_2"), "pg-big_2.json");
  EXPECT_EQ(DeploymentStore::FileNameFor("../x"), "%2E%2E%2Fx.json");
  EXPECT_EQ(DeploymentStore::FileNameFor("arn:aws"), "arn%3Aaws.json");
}

}  // namespace
}  // namespace parallelagram::deploy
