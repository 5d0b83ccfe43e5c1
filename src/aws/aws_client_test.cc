#include "aws/aws_client.h"

#include <gtest/gtest.h>

#include <deque>

#include "aws/sigv4.h"
#include "common/sha256.h"
#include "common/time_parse.h"

namespace parallelagram::aws {
namespace {

// Scripted HttpClient: answers each request with the next scripted result, on
// the next loop iteration; records what was sent.
class ScriptedHttp : public HttpClient {
 public:
  explicit ScriptedHttp(IoLoop& loop) : loop_(loop) {}
  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override {
    sent.push_back(request);
    Result<HttpResponse> r = Status::Internal("no scripted response left");
    if (!script.empty()) {
      r = std::move(script.front());
      script.pop_front();
    }
    loop_.AddTimer(0, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  void Add(long status, std::string body = "", HttpHeaders headers = {}) {
    HttpResponse h;
    h.status = status;
    h.body = std::move(body);
    h.headers = std::move(headers);
    script.emplace_back(std::move(h));
  }
  std::deque<Result<HttpResponse>> script;
  std::vector<HttpRequest> sent;

 private:
  IoLoop& loop_;
};

struct Fixture {
  IoLoop loop;
  ScriptedHttp http{loop};
  FakeClock clock{1700000000000};
  std::vector<int64_t> delays;
  std::unique_ptr<AwsClient> client;
  explicit Fixture(AwsProtocol protocol = AwsProtocol::kRestJson,
                   std::string source = "test keys") {
    Credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    c.session_token = "SESSIONTOKENSECRET";
    c.source = std::move(source);
    AwsClient::Options o;
    o.retry.seed = 3;
    o.clock = &clock;
    o.schedule = [this](int64_t ms, std::function<void()> fn) {
      delays.push_back(ms);
      clock.AdvanceMs(ms);
      loop.AddTimer(0, std::move(fn));
    };
    client = std::make_unique<AwsClient>(
        loop, http, StaticCredentials(c),
        ServiceConfig{"lambda", "us-east-1", "http://lambda.test:9000/", protocol}, o);
  }
  AwsRequest Req(int max_attempts = 0) {
    AwsRequest r;
    r.operation = "Invoke";
    r.http.method = "POST";
    r.http.url = "/2015-03-31/functions/f/invocations";
    r.http.body = "{}";
    r.max_attempts = max_attempts;
    return r;
  }
};

TEST(AwsClientTest, SignsAndResolvesTheUrl) {
  Fixture f;
  f.http.Add(200, "ok");
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(f.http.sent.size(), 1u);
  const HttpRequest& s = f.http.sent[0];
  EXPECT_EQ(s.url, "http://lambda.test:9000/2015-03-31/functions/f/invocations");
  HttpResponse hdrs;
  hdrs.headers = s.headers;
  EXPECT_EQ(hdrs.Header("x-amz-date"), "20231114T221320Z");
  EXPECT_NE(hdrs.Header("authorization").find("Credential=AKIDEXAMPLE/20231114/us-east-1/lambda/"),
            std::string::npos);
  EXPECT_EQ(hdrs.Header("x-amz-security-token"), "SESSIONTOKENSECRET");
  // A Lambda request with a body carries no x-amz-content-sha256 (as botocore's SigV4Auth).
  EXPECT_EQ(hdrs.Header("x-amz-content-sha256"), "");
}

TEST(AwsClientTest, RetriesTransientErrorsThenSucceeds) {
  Fixture f;
  f.http.Add(503, R"({"message":"busy"})", {{"x-amzn-errortype", "ServiceException"}});
  f.http.script.emplace_back(Status::Unavailable("POST lambda.test:9000 failed: reset"));
  f.http.Add(200, "done");
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(f.http.sent.size(), 3u);
  ASSERT_EQ(f.delays.size(), 2u);
  EXPECT_LE(f.delays[0], 1000);
  EXPECT_LE(f.delays[1], 2000);
  // Each attempt is signed afresh at its own (advanced) time.
  HttpResponse a, c;
  a.headers = f.http.sent[0].headers;
  c.headers = f.http.sent[2].headers;
  // Two retries took 5 each; the success returns what the last one took (botocore).
  EXPECT_EQ(f.client->retry_policy().available_tokens(), 495);
  (void)a;
  (void)c;
}

TEST(AwsClientTest, GivesUpAfterMaxAttemptsWithDetails) {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    f.http.Add(500, R"({"message":"boom"})",
               {{"x-amzn-errortype", "ServiceException"}, {"x-amzn-requestid", "rid"}});
  }
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(f.http.sent.size(), 3u);
  EXPECT_EQ(r.error().attempts, 3);
  EXPECT_EQ(r.error().code, "ServiceException");
  EXPECT_EQ(r.error().request_id, "rid");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "lambda Invoke: ServiceException: boom (HTTP 500, request id rid) [after 3 attempts]");
  EXPECT_EQ(f.client->retry_policy().available_tokens(), 490);
}

TEST(AwsClientTest, MaxAttemptsOnePerCallLeavesThrottlesToTheCaller) {
  Fixture f;
  f.http.Add(429, R"({"Reason":"ConcurrentInvocationLimitExceeded","message":"Rate Exceeded."})",
             {{"x-amzn-errortype", "TooManyRequestsException"}, {"retry-after", "2"}});
  auto r = f.client->SendAndWait(f.Req(/*max_attempts=*/1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(f.http.sent.size(), 1u);
  EXPECT_EQ(r.status().code(), StatusCode::kThrottled);
  EXPECT_EQ(r.error().reason, "ConcurrentInvocationLimitExceeded");
  EXPECT_DOUBLE_EQ(r.error().retry_after_seconds, 2);
}

TEST(AwsClientTest, HonoursRetryAfter) {
  Fixture f;
  f.http.Add(429, R"({"message":"slow down"})",
             {{"x-amzn-errortype", "TooManyRequestsException"}, {"retry-after", "4"}});
  f.http.Add(200, "ok");
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(f.delays.size(), 1u);
  EXPECT_EQ(f.delays[0], 4000);
}

TEST(AwsClientTest, CorrectsClockSkewAndResigns) {
  Fixture f(AwsProtocol::kRestXml);
  // The server is 2 hours ahead and says so.
  f.http.Add(403,
             "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the "
             "request time and the current time is too large.</Message></Error>",
             {{"date", "Wed, 15 Nov 2023 00:13:20 GMT"}});
  f.http.Add(200, "ok");
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(f.http.sent.size(), 2u);
  HttpResponse second;
  second.headers = f.http.sent[1].headers;
  int64_t signed_ms = 0;
  ASSERT_TRUE(ParseHttpDate(second.Header("x-amz-date"), &signed_ms));
  // Signed at server time (+2 h), plus the small backoff the fake clock advanced.
  EXPECT_GE(signed_ms, 1700000000000 + 7200 * 1000);
  EXPECT_LT(signed_ms, 1700000000000 + 7200 * 1000 + 2000);
}

TEST(AwsClientTest, AuthErrorsNameTheCredentialSourceButNoSecret) {
  Fixture f(AwsProtocol::kQuery, "profile 'dev' in /home/u/.aws/credentials");
  f.http.Add(403,
             "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>The request "
             "signature we calculated does not match.</Message></Error><RequestId>q1</RequestId>"
             "</ErrorResponse>");
  auto r = f.client->SendAndWait(f.Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(f.http.sent.size(), 1u);  // not retried: it is not clock skew
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("SignatureDoesNotMatch"), std::string::npos) << m;
  EXPECT_NE(m.find("profile 'dev' in /home/u/.aws/credentials"), std::string::npos) << m;
  EXPECT_EQ(m.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_EQ(m.find("SESSIONTOKENSECRET"), std::string::npos);
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(AwsClientTest, CredentialFailureIsReportedWithoutSending) {
  IoLoop loop;
  ScriptedHttp http(loop);
  AwsClient client(
      loop, http,
      [] {
        return Result<std::shared_ptr<const Credentials>>(
            Status::PermissionDenied("no credentials found"));
      },
      ServiceConfig{"sts", "us-east-1", "http://x", AwsProtocol::kQuery});
  auto r = client.SendAndWait(MakeQueryRequest("GetCallerIdentity", "2011-06-15", {}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(http.sent.empty());
  EXPECT_EQ(r.status().message(), "sts GetCallerIdentity: no credentials found");
}

TEST(AwsClientTest, QueryRequestEncoding) {
  AwsRequest r = MakeQueryRequest("AssumeRole", "2011-06-15",
                                  {{"RoleArn", "arn:aws:iam::1:role/a b"}, {"P", "x+y=z&~"}});
  EXPECT_EQ(r.http.body,
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b"
            "&P=x%2By%3Dz%26~");
  EXPECT_EQ(r.http.method, "POST");
}

}  // namespace
}  // namespace parallelagram::aws
