#include "aws/aws_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "aws/endpoints.h"

namespace parallelagram::aws {
namespace {

Environment Env(std::map<std::string, std::string> m) { return Environment(std::move(m)); }

TEST(ParseIni, SectionsCommentsContinuationsAndNesting) {
  const std::string text =
      "# comment\n"
      "; another\n"
      "[default]\r\n"
      "region = us-west-2   # trailing comment\r\n"
      "Aws_Access_Key_Id=AKID\n"
      "\n"
      "[profile dev]\n"
      "credential_process = /bin/echo a#b\n"
      "s3 =\n"
      "  endpoint_url = http://localhost:9000\n"
      "  addressing_style = path\n"
      "note = first\n"
      "  second\n";
  auto r = ParseIni(text, "cfg");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto& m = *r;
  EXPECT_EQ(m["default"]["region"], "us-west-2");
  EXPECT_EQ(m["default"]["aws_access_key_id"], "AKID");
  EXPECT_EQ(m["profile dev"]["credential_process"], "/bin/echo a#b");
  EXPECT_EQ(m["profile dev"]["s3.endpoint_url"], "http://localhost:9000");
  EXPECT_EQ(m["profile dev"]["s3.addressing_style"], "path");
  EXPECT_EQ(m["profile dev"]["s3"], "");
  EXPECT_EQ(m["profile dev"]["note"], "first\nsecond");
}

TEST(ParseIni, ErrorsNameFileAndLine) {
  auto a = ParseIni("key = v\n", "/x/config");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "/x/config:1: setting outside of a [section]");
  auto b = ParseIni("[default]\nno equals sign here\n", "/x/config");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("/x/config:2"), std::string::npos);
  EXPECT_EQ(b.status().message().find("no equals"), std::string::npos);  // no values echoed
  EXPECT_FALSE(ParseIni("[broken\n", "f").ok());
}

TEST(SharedConfig, MergesFilesCredentialsFileWins) {
  auto sc = SharedConfig::FromText(
      "[default]\nregion = eu-west-1\n"
      "[profile default]\nregion = eu-west-2\n"
      "[profile dev]\nregion = us-east-2\naws_access_key_id = FROMCONFIG\n"
      "[dev]\nregion = ignored-not-a-profile-section\n"
      "[sso-session s]\nsso_region = x\n",
      "/h/.aws/config",
      "[dev]\naws_access_key_id = FROMCREDS\naws_secret_access_key = S\n"
      "[other]\naws_access_key_id = O\n",
      "/h/.aws/credentials");
  ASSERT_TRUE(sc.ok());
  auto def = sc->Find("default");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->Get("region"), "eu-west-2");  // [profile default] wins over [default]
  auto dev = sc->Find("dev");
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->Get("region"), "us-east-2");
  EXPECT_EQ(dev->Get("aws_access_key_id"), "FROMCREDS");
  EXPECT_EQ(dev->Describe("aws_access_key_id"), "profile 'dev' in /h/.aws/credentials");
  EXPECT_EQ(dev->Describe("region"), "profile 'dev' in /h/.aws/config");
  EXPECT_TRUE(sc->Find("other"));
  EXPECT_FALSE(sc->Find("s"));
  EXPECT_FALSE(sc->Find("sso-session s"));
}

TEST(SharedConfig, LoadsFilesNamedByEnvironmentAndSelectsProfile) {
  std::string dir = ::testing::TempDir();
  std::string cfg = dir + "/pg_cfg_" + std::to_string(::getpid());
  FILE* f = std::fopen(cfg.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("[profile p1]\nregion = ap-south-1\n", f);
  std::fclose(f);
  Environment env({{"AWS_CONFIG_FILE", cfg},
                   {"AWS_SHARED_CREDENTIALS_FILE", dir + "/does-not-exist"},
                   {"AWS_PROFILE", "p1"}});
  auto sc = SharedConfig::Load(env);
  ASSERT_TRUE(sc.ok()) << sc.status().ToString();
  EXPECT_EQ(SharedConfig::SelectedProfileName(env), "p1");
  EXPECT_TRUE(SharedConfig::ProfileExplicit(env));
  ASSERT_TRUE(sc->Find("p1"));
  EXPECT_EQ(sc->Find("p1")->Get("region"), "ap-south-1");
  EXPECT_EQ(SharedConfig::SelectedProfileName(Environment()), "default");
  EXPECT_EQ(SharedConfig::SelectedProfileName(Env({{"AWS_DEFAULT_PROFILE", "x"}})), "x");
  // "~" expands to $HOME.
  auto home = SharedConfig::Load(Env({{"HOME", "/nonexistent-home"}}));
  ASSERT_TRUE(home.ok());
  EXPECT_EQ(home->config_path(), "/nonexistent-home/.aws/config");
  EXPECT_EQ(home->credentials_path(), "/nonexistent-home/.aws/credentials");
  std::remove(cfg.c_str());
}

TEST(SharedConfig, ServicesSectionGivesPerServiceEndpoint) {
  auto sc = SharedConfig::FromText(
      "[profile dev]\nservices = local\n[services local]\ns3 =\n  endpoint_url = http://s3:1\n",
      "/c", "", "/k");
  ASSERT_TRUE(sc.ok());
  auto p = sc->Find("dev");
  ASSERT_TRUE(p);
  auto e = ResolveEndpoint("s3", "us-east-1", Environment(), &*p);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->url, "http://s3:1");
  EXPECT_EQ(e->source, "profile 'dev' in /c");
}

// --- Region and endpoints ---------------------------------------------------

Profile MakeProfile(std::map<std::string, std::string> kv) {
  Profile p;
  p.name = "dev";
  for (auto& [k, v] : kv) p.settings[k] = {v, "/h/.aws/config"};
  return p;
}

TEST(Region, Precedence) {
  Profile p = MakeProfile({{"region", "eu-central-1"}});
  Environment env({{"AWS_REGION", "us-west-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}});
  auto r = ResolveRegion(env, &p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->region, "us-west-1");
  EXPECT_EQ(r->source, "AWS_REGION");
  r = ResolveRegion(Env({{"AWS_DEFAULT_REGION", "us-west-2"}}), &p);
  EXPECT_EQ(r->region, "us-west-2");
  EXPECT_EQ(r->source, "AWS_DEFAULT_REGION");
  r = ResolveRegion(Environment(), &p);
  EXPECT_EQ(r->region, "eu-central-1");
  EXPECT_EQ(r->source, "profile 'dev' in /h/.aws/config");
  r = ResolveRegion(Environment(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("AWS_REGION"), std::string::npos);
}

TEST(Endpoints, Precedence) {
  Profile p = MakeProfile(
      {{"endpoint_url", "http://profile:1"}, {"lambda.endpoint_url", "http://profile-lambda:2"}});
  Environment env(
      {{"AWS_ENDPOINT_URL_S3", "http://s3-env:3/"}, {"AWS_ENDPOINT_URL", "http://all-env:4"}});
  auto s3 = ResolveEndpoint("s3", "eu-west-1", env, &p);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->url, "http://s3-env:3");
  EXPECT_EQ(s3->source, "AWS_ENDPOINT_URL_S3");
  EXPECT_TRUE(s3->custom);
  EXPECT_EQ(s3->signing_region, "eu-west-1");
  auto lambda = ResolveEndpoint("lambda", "eu-west-1", env, &p);
  EXPECT_EQ(lambda->url, "http://all-env:4");
  EXPECT_EQ(lambda->source, "AWS_ENDPOINT_URL");
  lambda = ResolveEndpoint("lambda", "eu-west-1", Environment(), &p);
  EXPECT_EQ(lambda->url, "http://profile-lambda:2");
  auto sts = ResolveEndpoint("sts", "eu-west-1", Environment(), &p);
  EXPECT_EQ(sts->url, "http://profile:1");
  EXPECT_EQ(sts->source, "profile 'dev' in /h/.aws/config");
  // Ignoring configured endpoints leaves AWS's.
  auto ign = ResolveEndpoint(
      "s3", "eu-west-1",
      Env({{"AWS_ENDPOINT_URL_S3", "http://x:1"}, {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}}),
      &p);
  EXPECT_EQ(ign->url, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(ign->custom);
  EXPECT_FALSE(
      ResolveEndpoint("s3", "eu-west-1", Env({{"AWS_ENDPOINT_URL", "ftp://x"}}), nullptr).ok());
  EXPECT_FALSE(ResolveEndpoint("ec2", "eu-west-1", Environment(), nullptr).ok());
}

TEST(Endpoints, PublicEndpoints) {
  Environment none;
  auto iam = ResolveEndpoint("iam", "eu-west-1", none, nullptr);
  EXPECT_EQ(iam->url, "https://iam.amazonaws.com");
  EXPECT_EQ(iam->signing_region, "us-east-1");
  EXPECT_EQ(iam->source, "AWS public endpoint");
  EXPECT_EQ(ResolveEndpoint("iam", "cn-north-1", none, nullptr)->url,
            "https://iam.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(ResolveEndpoint("iam", "us-gov-east-1", none, nullptr)->signing_region,
            "us-gov-west-1");
  EXPECT_EQ(ResolveEndpoint("sts", "ap-northeast-1", none, nullptr)->url,
            "https://sts.ap-northeast-1.amazonaws.com");
  EXPECT_EQ(ResolveEndpoint("lambda", "cn-northwest-1", none, nullptr)->url,
            "https://lambda.cn-northwest-1.amazonaws.com.cn");
  auto s3 = ResolveEndpoint("s3", "us-east-1", none, nullptr);
  EXPECT_EQ(s3->url, "https://s3.us-east-1.amazonaws.com");
  EXPECT_FALSE(ResolveEndpoint("lambda", "", none, nullptr).ok());
}

}  // namespace
}  // namespace parallelagram::aws
