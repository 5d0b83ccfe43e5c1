// The HTTP credential sources against local servers that play them (IMDSv2
// with its token check, the container endpoint with its authorization check),
// and the STS sources against moto_server with signature checking on.
#include "aws/credentials_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <pugixml.hpp>
#include <thread>

#include "aws/credentials_chain.h"
#include "aws/sigv4.h"
#include "aws/sts_client.h"
#include "aws/sts_credentials.h"
#include "http/test_http_server.h"

namespace parallelagram::aws {
namespace {

using parallelagram::testing::TestHttpServer;

constexpr char kCredsJson[] =
    R"({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAHTTP",
        "SecretAccessKey": "httpsecret", "Token": "httptoken",
        "Expiration": "2030-01-01T00:00:00Z", "LastUpdated": "2026-01-01T00:00:00Z"})";

Environment HttpCredsEnv(std::map<std::string, std::string> m) { return Environment(std::move(m)); }

// Plays IMDSv2: a PUT with the TTL header gets a token; GETs need it.
TestHttpServer::Reply Imds(const TestHttpServer::Request& r) {
  TestHttpServer::Reply rep;
  if (r.method == "PUT" && r.target == "/latest/api/token") {
    if (r.Header("x-aws-ec2-metadata-token-ttl-seconds").empty()) return {400, {}, "no ttl"};
    rep.body = "imds-session-token";
    return rep;
  }
  if (r.Header("x-aws-ec2-metadata-token") != "imds-session-token") return {401, {}, ""};
  if (r.method == "GET" && r.target == "/latest/meta-data/iam/security-credentials/") {
    rep.body = "my-role\n";
  } else if (r.method == "GET" &&
             r.target == "/latest/meta-data/iam/security-credentials/my-role") {
    rep.body = kCredsJson;
  } else {
    rep.status = 404;
  }
  return rep;
}

TEST(ImdsCredentials, TokenThenRoleThenCredentials) {
  std::vector<std::string> seen;
  std::mutex mu;
  TestHttpServer server([&](const TestHttpServer::Request& r) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(r.method + " " + r.target);
    return Imds(r);
  });
  auto cfg = ImdsCredentialsProvider::FromEnvironment(
      HttpCredsEnv({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url() + "/"}}));
  EXPECT_EQ(cfg.endpoint, server.url());
  ImdsCredentialsProvider p(cfg);
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAHTTP");
  EXPECT_EQ(c->secret_access_key, "httpsecret");
  EXPECT_EQ(c->session_token, "httptoken");
  EXPECT_EQ(c->expiration_epoch_ms, 1893456000000);
  EXPECT_EQ(c->source, "EC2 instance metadata role 'my-role' at " + server.url());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                      "GET /latest/meta-data/iam/security-credentials/my-role"}));
}

TEST(ImdsCredentials, ErrorsNameTheSource) {
  TestHttpServer no_role([](const TestHttpServer::Request& r) {
    if (r.method == "PUT") return TestHttpServer::Reply{200, {}, "tok"};
    return TestHttpServer::Reply{404, {}, ""};
  });
  ImdsCredentialsProvider p({no_role.url(), 1000, 1});
  auto c = p.Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "EC2 instance metadata at " + no_role.url() +
                                      ": this instance has no IAM role attached");
  ImdsCredentialsProvider down({"http://127.0.0.1:1", 300, 1});
  c = down.Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("EC2 instance metadata at http://127.0.0.1:1"),
            std::string::npos);
}

TEST(ContainerCredentials, FullUriWithTokenFileAndRelativeUri) {
  std::string token_path = ::testing::TempDir() + "/pg_container_token_" + std::to_string(getpid());
  std::ofstream(token_path) << "file-token\n";
  std::string expected = "file-token";
  TestHttpServer server([&](const TestHttpServer::Request& r) {
    if (r.target != "/v2/credentials/abc") return TestHttpServer::Reply{404, {}, ""};
    if (r.Header("authorization") != expected) return TestHttpServer::Reply{401, {}, ""};
    return TestHttpServer::Reply{200, {}, kCredsJson};
  });
  // FULL_URI with the token in a file (re-read each fetch), which wins over the variable.
  auto cfg = ContainerCredentialsProvider::FromEnvironment(
      HttpCredsEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/v2/credentials/abc"},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_path}}));
  ASSERT_TRUE(cfg.ok() && cfg->has_value());
  ContainerCredentialsProvider p(**cfg);
  auto c = p.Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAHTTP");
  EXPECT_EQ(c->source, "container credentials endpoint " + server.url() + "/v2/credentials/abc");
  std::ofstream(token_path) << "rotated\n";
  auto stale = p.Fetch();
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().message(), "container credentials endpoint " + server.url() +
                                          "/v2/credentials/abc answered HTTP 401");
  expected = "rotated";
  EXPECT_TRUE(p.Fetch().ok());
  // RELATIVE_URI is resolved against the ECS host (here: the test server), with the env token.
  expected = "env-token";
  auto rel = ContainerCredentialsProvider::FromEnvironment(
      HttpCredsEnv({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"}}),
      server.url());
  ASSERT_TRUE(rel.ok() && rel->has_value());
  ContainerCredentialsProvider p2(**rel);
  EXPECT_EQ(p2.Fetch()->access_key_id, "ASIAHTTP");
  std::remove(token_path.c_str());
}

TEST(ContainerCredentials, ChainUsesContainerBeforeImds) {
  TestHttpServer container([](const TestHttpServer::Request&) {
    return TestHttpServer::Reply{200, {}, kCredsJson};
  });
  TestHttpServer imds(Imds);
  auto sc = SharedConfig::FromText("", "/c", "", "/k");
  ASSERT_TRUE(sc.ok());
  FakeClock clock(1700000000000);
  auto rc = DefaultCredentials(
      HttpCredsEnv({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url() + "/x"},
                    {"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}}),
      *sc, clock);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ((*rc)->Get()->source, "container credentials endpoint " + container.url() + "/x");
  EXPECT_EQ(container.requests(), 1u);
  EXPECT_TRUE((*rc)->Get().ok());
  EXPECT_EQ(container.requests(), 1u);  // cached until 5 minutes before 2030
  auto imds_only = DefaultCredentials(
      HttpCredsEnv({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}}), *sc, clock);
  ASSERT_TRUE(imds_only.ok());
  EXPECT_EQ((*imds_only)->Get()->access_key_id, "ASIAHTTP");
  EXPECT_EQ(imds.requests(), 3u);
}

// --- STS against moto_server (signatures enforced) -------------------------

class MotoServer {
 public:
  explicit MotoServer(int free_calls) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    close(s);
    pid_ = fork();
    if (pid_ == 0) {
      setenv("INITIAL_NO_AUTH_ACTION_COUNT", std::to_string(free_calls).c_str(), 1);
      std::string port = std::to_string(port_);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", port.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && !up_; ++i) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      up_ = connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(c);
      if (!up_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~MotoServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return up_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  bool up_ = false;
};

Result<HttpResponse> Post(const std::string& url, const std::string& body) {
  HttpRequest req;
  req.method = "POST";
  req.url = url + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = body;
  // moto routes by the credential scope's service, so even free calls are signed.
  SigningParams sp;
  sp.service = "iam";
  sp.region = "us-east-1";
  sp.epoch_seconds = SystemClock::Get().NowEpochMs() / 1000;
  EXPECT_TRUE(SignRequest(req, Credentials{"AKIDFREECALL", "free", "", 0, "test"}, sp).ok());
  IoLoop loop;
  CurlHttpClient client(loop);
  return SendAndWait(loop, client, req);
}

TEST(StsCredentials, AgainstMotoWithSignatureChecks) {
  MotoServer moto(4);
  ASSERT_TRUE(moto.up()) << "moto_server did not start";
  // The free calls: an IAM user, its access key, an allow-all policy.
  ASSERT_EQ(Post(moto.url(), "Action=CreateUser&Version=2010-05-08&UserName=pg")->status, 200);
  auto key = Post(moto.url(), "Action=CreateAccessKey&Version=2010-05-08&UserName=pg");
  ASSERT_TRUE(key.ok());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(key->body.c_str()));
  auto ak = doc.child("CreateAccessKeyResponse").child("CreateAccessKeyResult").child("AccessKey");
  Credentials user{ak.child_value("AccessKeyId"), ak.child_value("SecretAccessKey"), "", 0,
                   "profile 'base' in /k"};
  ASSERT_FALSE(user.empty());
  ASSERT_EQ(Post(moto.url(),
                 "Action=PutUserPolicy&Version=2010-05-08&UserName=pg&PolicyName=all&"
                 "PolicyDocument=" +
                     UriEncode(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                               R"("Action":"*","Resource":"*"}]})",
                               false))
                ->status,
            200);

  // Web identity via the environment (unsigned: moto 5 crashes on it once
  // signatures are enforced, so it is the last free call).
  auto empty = SharedConfig::FromText("", "/c", "", "/k");
  ASSERT_TRUE(empty.ok());
  FakeClock wclock(SystemClock::Get().NowEpochMs());
  std::string token_path = ::testing::TempDir() + "/pg_webid_" + std::to_string(getpid());
  std::ofstream(token_path) << "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
  auto web =
      DefaultCredentials(HttpCredsEnv({{"AWS_WEB_IDENTITY_TOKEN_FILE", token_path},
                                       {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"},
                                       {"AWS_ROLE_SESSION_NAME", "websess"},
                                       {"AWS_REGION", "us-east-1"},
                                       {"AWS_ENDPOINT_URL", moto.url()}}),
                         *empty, wclock);
  ASSERT_TRUE(web.ok());
  auto w = (*web)->Get();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_FALSE(w->session_token.empty());
  EXPECT_EQ(w->source, "web identity token file " + token_path +
                           " for role arn:aws:iam::123456789012:role/web");
  std::remove(token_path.c_str());

  Endpoint sts;
  sts.service = sts.signing_name = "sts";
  sts.signing_region = "us-east-1";
  sts.url = moto.url();
  auto assumer = MakeStsAssumer(sts);
  AssumeRoleParams params{"arn:aws:iam::123456789012:role/pg-role", "pg-session", "", 900};

  // A correctly signed AssumeRole succeeds (moto checks the signature).
  auto c = assumer->AssumeRole(user, params);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id.rfind("ASIA", 0), 0u);
  EXPECT_FALSE(c->secret_access_key.empty());
  EXPECT_FALSE(c->session_token.empty());
  EXPECT_GT(c->expiration_epoch_ms, SystemClock::Get().NowEpochMs());

  // A wrong secret: STS's code and message, never the secret.
  Credentials wrong = user;
  wrong.secret_access_key = "WRONGSECRETWRONGSECRETWRONGSECRETWRONGSE";
  auto bad = assumer->AssumeRole(wrong, params);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(bad.status().message().find("sts AssumeRole: SignatureDoesNotMatch"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(bad.status().message().find("WRONGSECRET"), std::string::npos);

  // The chain: profile 'top' assumes the role with profile 'base''s keys.
  auto sc = SharedConfig::FromText(
      "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/pg-role\nsource_profile = base\n"
      "region = us-east-1\nduration_seconds = 900\n",
      "/c",
      "[base]\naws_access_key_id = " + user.access_key_id +
          "\naws_secret_access_key = " + user.secret_access_key + "\n",
      "/k");
  ASSERT_TRUE(sc.ok());
  FakeClock clock(SystemClock::Get().NowEpochMs());
  auto rc = DefaultCredentials(
      HttpCredsEnv({{"AWS_PROFILE", "top"}, {"AWS_ENDPOINT_URL_STS", moto.url()}}), *sc, clock);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  auto top = (*rc)->Get();
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(top->source, "role arn:aws:iam::123456789012:role/pg-role of profile 'top' in /c");
  // Refreshed 5 minutes before the 15-minute session ends.
  clock.AdvanceMs(9 * 60 * 1000);
  EXPECT_EQ((*rc)->Get()->access_key_id, top->access_key_id);
  clock.AdvanceMs(2 * 60 * 1000);
  auto refreshed = (*rc)->Get();
  ASSERT_TRUE(refreshed.ok());
  EXPECT_LT(top->expiration_epoch_ms - clock.NowEpochMs() + 11 * 60 * 1000, 16 * 60 * 1000)
      << "moto ignored DurationSeconds";
  EXPECT_NE(refreshed->access_key_id, top->access_key_id);
}

}  // namespace
}  // namespace parallelagram::aws
