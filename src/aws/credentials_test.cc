#include "aws/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "aws/credentials_chain.h"
#include "aws/credentials_http.h"

namespace parallelagram::aws {
namespace {

Environment CredsEnv(std::map<std::string, std::string> m) { return Environment(std::move(m)); }

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/pg_cred_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(CredentialsEnv, BothPartialAndToken) {
  auto none = CredentialsFromEnvironment(Environment());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto c = CredentialsFromEnvironment(Environment(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}}));
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->session_token, "T");
  EXPECT_EQ((*c)->source, "environment variables");
  auto partial = CredentialsFromEnvironment(CredsEnv({{"AWS_ACCESS_KEY_ID", "AKSECRETISH"}}));
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.status().message().find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
  EXPECT_EQ(partial.status().message().find("AKSECRETISH"), std::string::npos);
}

TEST(CredentialProcess, RunsCommandParsesJsonAndReportsFailures) {
  ProcessCredentialsProvider ok(
      "printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKP\", \"SecretAccessKey\": \"SKP\", "
      "\"SessionToken\": \"TP\", \"Expiration\": \"2030-01-01T00:00:00Z\"}'",
      "credential_process of profile 'x' in /c");
  auto c = ok.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKP");
  EXPECT_EQ(c->secret_access_key, "SKP");
  EXPECT_EQ(c->session_token, "TP");
  EXPECT_EQ(c->expiration_epoch_ms, 1893456000000);
  EXPECT_EQ(c->source, "credential_process of profile 'x' in /c");

  ProcessCredentialsProvider fails("echo '{\"SecretAccessKey\": \"LEAK\"}'; exit 3",
                                   "credential_process of profile 'x' in /c");
  auto f = fails.Fetch();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message().rfind("credential_process of profile 'x' in /c exited 3", 0), 0u);
  EXPECT_EQ(f.status().message().find("LEAK"), std::string::npos);

  for (const char* bad : {"not json",
                          "{\"Version\": 2, \"AccessKeyId\": \"a\", "
                          "\"SecretAccessKey\": \"SECRETVALUE\"}",
                          "{\"Version\": 1, \"AccessKeyId\": \"a\"}",
                          "{\"Version\": 1, \"AccessKeyId\": \"a\", \"SecretAccessKey\": "
                          "\"SECRETVALUE\", \"Expiration\": \"soon\"}"}) {
    auto r = ParseProcessCredentials(bad, "cp");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find("SECRETVALUE"), std::string::npos);
    EXPECT_EQ(r.status().message().rfind("cp ", 0), 0u);
  }
}

class CountingProvider : public CredentialsProvider {
 public:
  explicit CountingProvider(const Clock& clock) : clock_(clock) {}
  Result<Credentials> Fetch() override {
    ++fetches;
    if (fail) return Status::Unavailable("source down");
    Credentials c{"AK" + std::to_string(fetches), "SK", "T", clock_.NowEpochMs() + 3600 * 1000,
                  "counting"};
    return c;
  }
  std::string Describe() const override { return "counting"; }
  int fetches = 0;
  bool fail = false;

 private:
  const Clock& clock_;
};

TEST(RefreshingCredentials, RefreshesFiveMinutesBeforeExpiry) {
  FakeClock clock;
  auto owned = std::make_unique<CountingProvider>(clock);
  CountingProvider* p = owned.get();
  RefreshingCredentials rc(std::move(owned), clock);
  EXPECT_EQ(rc.Get()->access_key_id, "AK1");
  clock.AdvanceMs(54 * 60 * 1000);  // 6 minutes left: cached
  EXPECT_EQ(rc.Get()->access_key_id, "AK1");
  EXPECT_EQ(p->fetches, 1);
  clock.AdvanceMs(2 * 60 * 1000);  // 4 minutes left: refreshed
  EXPECT_EQ(rc.Get()->access_key_id, "AK2");
  EXPECT_EQ(p->fetches, 2);
  // A failed refresh keeps still-valid credentials, and retries next time.
  clock.AdvanceMs(56 * 60 * 1000);
  p->fail = true;
  EXPECT_EQ(rc.Get()->access_key_id, "AK2");
  EXPECT_EQ(p->fetches, 3);
  clock.AdvanceMs(5 * 60 * 1000);  // now expired: the error surfaces
  auto r = rc.Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "source down");
  p->fail = false;
  rc.Invalidate();
  EXPECT_EQ(rc.Get()->access_key_id, "AK5");
}

// --- Chain selection ------------------------------------------------------

// Records AssumeRole calls: the chain's wiring (which source credentials reach
// STS, with which parameters). The STS protocol itself is tested against moto.
class RecordingSts : public StsAssumer {
 public:
  Result<Credentials> AssumeRole(const Credentials& source, const AssumeRoleParams& p) override {
    calls.push_back("AssumeRole " + p.role_arn + " as " + source.access_key_id + " session " +
                    p.session_name + " ext " + p.external_id + " dur " +
                    std::to_string(p.duration_seconds));
    return Credentials{"ASSUMED-" + p.role_arn, "S", "T", 0, ""};
  }
  Result<Credentials> AssumeRoleWithWebIdentity(const AssumeRoleParams& p,
                                                const std::string& token) override {
    calls.push_back("WebIdentity " + p.role_arn + " token " + token + " session " + p.session_name);
    return Credentials{"WEB-" + p.role_arn, "S", "T", 0, ""};
  }
  std::vector<std::string> calls;
};

struct ChainCase {
  std::map<std::string, std::string> env;
  std::string config, credentials;
};

Result<Credentials> Resolve(const ChainCase& c, std::shared_ptr<RecordingSts> sts,
                            std::string* describe = nullptr) {
  auto sc =
      SharedConfig::FromText(c.config, "/h/.aws/config", c.credentials, "/h/.aws/credentials");
  if (!sc.ok()) return sc.status();
  ChainOptions opts;
  opts.sts = sts;
  opts.imds_timeout_ms = 200;
  auto p = SelectCredentialsProvider(Environment(c.env), *sc, opts);
  if (!p.ok()) return p.status();
  if (describe) *describe = (*p)->Describe();
  return (*p)->Fetch();
}

TEST(CredentialsChain, Precedence) {
  auto sts = std::make_shared<RecordingSts>();
  std::string token_file = WriteTemp("webtoken", "jwt-token\n");
  ChainCase all;
  all.env = {{"AWS_ACCESS_KEY_ID", "ENVKEY"},
             {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
             {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
             {"AWS_ROLE_ARN", "arn:aws:iam::1:role/web"},
             {"AWS_ROLE_SESSION_NAME", "sess"},
             {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"},
             {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}};
  all.credentials = "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n";
  std::string d;
  // 1. environment beats everything.
  EXPECT_EQ(Resolve(all, sts, &d)->access_key_id, "ENVKEY");
  EXPECT_EQ(d, "environment variables");
  // 2. then the profile.
  all.env.erase("AWS_ACCESS_KEY_ID");
  all.env.erase("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(Resolve(all, sts, &d)->access_key_id, "FILEKEY");
  EXPECT_EQ(d, "profile 'default' in /h/.aws/credentials");
  // 3. then web identity.
  all.credentials.clear();
  EXPECT_EQ(Resolve(all, sts, &d)->access_key_id, "WEB-arn:aws:iam::1:role/web");
  EXPECT_EQ(sts->calls.back(), "WebIdentity arn:aws:iam::1:role/web token jwt-token session sess");
  EXPECT_EQ(d, "web identity token file " + token_file + " for role arn:aws:iam::1:role/web");
  // 4. then the container endpoint (port 1: nothing listens, the error names it).
  all.env.erase("AWS_ROLE_ARN");
  auto r = Resolve(all, sts, &d);
  EXPECT_EQ(d, "container credentials endpoint http://127.0.0.1:1/creds");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("container credentials endpoint"), std::string::npos);
  // 5. then IMDS, unless disabled.
  all.env.erase("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  r = Resolve(all, sts, &d);
  EXPECT_EQ(d, "EC2 instance metadata at http://127.0.0.1:1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("EC2 instance metadata"), std::string::npos);
  all.env["AWS_EC2_METADATA_DISABLED"] = "true";
  r = Resolve(all, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("no AWS credentials found"), std::string::npos);
  std::remove(token_file.c_str());
}

TEST(CredentialsChain, ProfilesRolesAndProcess) {
  auto sts = std::make_shared<RecordingSts>();
  ChainCase c;
  c.config =
      "[profile base]\ncredential_process = printf '%s' '{\"Version\":1,\"AccessKeyId\":"
      "\"PROCKEY\",\"SecretAccessKey\":\"x\"}'\n"
      "[profile mid]\nrole_arn = arn:aws:iam::1:role/mid\nsource_profile = base\n"
      "[profile top]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = mid\n"
      "role_session_name = s1\nexternal_id = ext\nduration_seconds = 900\n"
      "[profile self]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = self\n"
      "aws_access_key_id = SELFKEY\naws_secret_access_key = y\n"
      "[profile loop1]\nrole_arn = r1\nsource_profile = loop2\n"
      "[profile loop2]\nrole_arn = r2\nsource_profile = loop1\n"
      "[profile envsrc]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
      "[profile regiononly]\nregion = us-east-1\n"
      "[profile failing]\ncredential_process = exit 7\n";
  std::string d;
  c.env = {{"AWS_PROFILE", "base"}};
  EXPECT_EQ(Resolve(c, sts, &d)->access_key_id, "PROCKEY");
  EXPECT_EQ(d, "credential_process of profile 'base' in /h/.aws/config");

  c.env = {{"AWS_PROFILE", "top"}};
  auto r = Resolve(c, sts, &d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->access_key_id, "ASSUMED-arn:aws:iam::1:role/top");
  EXPECT_EQ(r->source, "role arn:aws:iam::1:role/top of profile 'top' in /h/.aws/config");
  ASSERT_GE(sts->calls.size(), 2u);
  EXPECT_EQ(sts->calls[sts->calls.size() - 2].rfind("AssumeRole arn:aws:iam::1:role/mid as "
                                                    "PROCKEY session parallelagram-",
                                                    0),
            0u);
  EXPECT_EQ(sts->calls.back(),
            "AssumeRole arn:aws:iam::1:role/top as ASSUMED-arn:aws:iam::1:role/mid session s1 "
            "ext ext dur 900");

  c.env = {{"AWS_PROFILE", "self"}};
  EXPECT_EQ(Resolve(c, sts)->access_key_id, "ASSUMED-arn:aws:iam::1:role/self");
  EXPECT_NE(sts->calls.back().find("as SELFKEY"), std::string::npos);

  c.env = {{"AWS_PROFILE", "loop1"}};
  r = Resolve(c, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cycle"), std::string::npos);

  c.env = {{"AWS_PROFILE", "envsrc"}, {"AWS_ACCESS_KEY_ID", "E"}, {"AWS_SECRET_ACCESS_KEY", "S"}};
  EXPECT_EQ(Resolve(c, sts)->access_key_id, "E");  // plain env vars come first
  c.env = {{"AWS_PROFILE", "envsrc"}};
  r = Resolve(c, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("credential_source = Environment"), std::string::npos);

  c.env = {{"AWS_PROFILE", "failing"}};
  r = Resolve(c, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(
                "credential_process of profile 'failing' in /h/.aws/config exited 7", 0),
            0u);

  // A profile without credentials falls through; a missing explicit one is an error.
  c.env = {{"AWS_PROFILE", "regiononly"}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  r = Resolve(c, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no AWS credentials found"), std::string::npos);
  c.env = {{"AWS_PROFILE", "nosuch"}};
  r = Resolve(c, sts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("'nosuch'"), std::string::npos);
}

TEST(CredentialsChain, ContainerUriRules) {
  auto rel = ContainerCredentialsProvider::FromEnvironment(
      CredsEnv({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/abc"}}));
  ASSERT_TRUE(rel.ok() && rel->has_value());
  EXPECT_EQ((*rel)->url, "http://169.254.170.2/v2/creds/abc");
  auto eks = ContainerCredentialsProvider::FromEnvironment(
      CredsEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token"}}));
  ASSERT_TRUE(eks.ok() && eks->has_value());
  EXPECT_EQ((*eks)->auth_token_file, "/var/run/token");
  auto bad = ContainerCredentialsProvider::FromEnvironment(
      CredsEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/creds"}}));
  EXPECT_FALSE(bad.ok());
  auto https = ContainerCredentialsProvider::FromEnvironment(
      CredsEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x"}}));
  EXPECT_TRUE(https.ok());
  EXPECT_EQ(ImdsCredentialsProvider::FromEnvironment(
                CredsEnv({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}))
                .endpoint,
            "http://[fd00:ec2::254]");
  EXPECT_TRUE(ImdsCredentialsProvider::Disabled(CredsEnv({{"AWS_EC2_METADATA_DISABLED", "TRUE"}})));
}

}  // namespace
}  // namespace parallelagram::aws
