#include "driver/task_env.h"

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

EnvLookup Fake(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& n, std::string* v) {
    auto it = vars.find(n);
    if (it == vars.end()) return false;
    *v = it->second;
    return true;
  };
}

TEST(TaskEnvTest, CopiesNamedVariablesAndSetsGivenOnes) {
  auto env = ResolveTaskEnv({"FOO", "BAR=x=y", "EMPTY="}, false, Fake({{"FOO", "from here"}}));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(*env, (std::map<std::string, std::string>{
                      {"FOO", "from here"}, {"BAR", "x=y"}, {"EMPTY", ""}}));
  EXPECT_TRUE(ResolveTaskEnv({}, false, Fake({{"FOO", "1"}}))->empty());  // nothing unless named
}

TEST(TaskEnvTest, RefusesBadNamesAndUnsetVariablesInOneLine) {
  for (const char* bad : {"1X", "A-B", "", "=v", "A B=1"}) {
    auto env = ResolveTaskEnv({bad}, false, Fake({}));
    ASSERT_FALSE(env.ok()) << bad;
    EXPECT_NE(env.status().message().find("--env"), std::string::npos);
    EXPECT_EQ(env.status().message().find('\n'), std::string::npos);
  }
  auto unset = ResolveTaskEnv({"NOPE"}, false, Fake({}));
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("NOPE is not set"), std::string::npos);
}

TEST(TaskEnvTest, SecretsOnlyByNameAndOnlyWithEnvSecretAndNeverInTheMessage) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  auto lookup = Fake({{"AWS_SECRET_ACCESS_KEY", secret}, {"COPY", secret}, {"OK", "1"}});
  for (const char* name : {"AWS_SECRET_ACCESS_KEY", "COPY"}) {
    auto env = ResolveTaskEnv({name}, false, lookup);
    ASSERT_FALSE(env.ok()) << name;
    EXPECT_NE(env.status().message().find("--env-secret"), std::string::npos);
    EXPECT_EQ(env.status().message().find(secret), std::string::npos);
    auto allowed = ResolveTaskEnv({name}, true, lookup);
    ASSERT_TRUE(allowed.ok()) << name;
    EXPECT_EQ(allowed->at(name), secret);
  }
  // Given on the command line it would be recorded in job.json: refused even with the flag.
  for (const std::string& given : {std::string("AWS_SESSION_TOKEN=abc"), "MINE=" + secret}) {
    auto env = ResolveTaskEnv({given}, true, lookup);
    ASSERT_FALSE(env.ok()) << given;
    EXPECT_EQ(env.status().message().find(secret), std::string::npos);
    EXPECT_EQ(env.status().message().find("abc"), std::string::npos);
  }
  EXPECT_TRUE(ResolveTaskEnv({"OK"}, false, lookup).ok());
}

}  // namespace
}  // namespace parallelagram::driver
