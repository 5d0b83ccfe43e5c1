#include "aws/lambda_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws/moto_fixture_test_util.h"
#include "aws/sigv4_verify.h"
#include "common/base64.h"
#include "http/test_http_server.h"

namespace parallelagram::aws {
namespace {

using parallelagram::testing::TestHttpServer;

Credentials TestCreds() {
  Credentials c;
  c.access_key_id = "AKIDLAMBDATEST";
  c.secret_access_key = "lambdaTestSecretKey0000000000000000000000";
  c.source = "test";
  return c;
}

// Plays Lambda's Invoke endpoint, checking each request's signature, and
// answering as the Lambda API reference documents.
TestHttpServer::Reply PlayInvoke(const TestHttpServer::Request& r) {
  TestHttpServer::Reply rep;
  IncomingRequest in;
  in.method = r.method;
  auto q = r.target.find('?');
  in.raw_path = r.target.substr(0, q);
  in.raw_query = q == std::string::npos ? "" : r.target.substr(q + 1);
  for (const auto& h : r.headers) in.headers.push_back(h);
  in.body = r.body;
  KeyLookup lookup = [](const std::string& id) -> std::optional<KnownKey> {
    if (id != TestCreds().access_key_id) return std::nullopt;
    return KnownKey{TestCreds().secret_access_key, "", 0};
  };
  VerifyOptions vo;
  vo.expected_service = "lambda";
  if (auto err = VerifySigV4(in, lookup, time(nullptr), vo)) {
    rep.status = err->http_status;
    rep.headers = {{"x-amzn-ErrorType", err->error_type}};
    rep.body = nlohmann::json{{"message", err->message}}.dump();
    return rep;
  }
  rep.headers = {{"x-amzn-RequestId", "req-" + in.raw_path}};
  const std::string type = r.Header("x-amz-invocation-type");
  if (in.raw_path == "/2015-03-31/functions/throttled/invocations") {
    rep.status = 429;
    rep.headers = {{"x-amzn-ErrorType", "TooManyRequestsException"},
                   {"x-amzn-RequestId", "t-1"},
                   {"Retry-After", "7"}};
    rep.body = R"({"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User",)"
               R"("message":"Rate Exceeded."})";
  } else if (in.raw_path == "/2015-03-31/functions/missing/invocations") {
    rep.status = 404;
    rep.headers = {{"x-amzn-ErrorType", "ResourceNotFoundException"}, {"x-amzn-RequestId", "m-1"}};
    rep.body =
        R"({"Type":"User","Message":"Function not found: arn:aws:lambda:us-east-1:1:function:missing"})";
  } else if (in.raw_path == "/2015-03-31/functions/crashes/invocations") {
    rep.headers.emplace_back("X-Amz-Function-Error", "Unhandled");
    rep.headers.emplace_back("X-Amz-Executed-Version", "$LATEST");
    rep.body =
        R"({"errorType":"Runtime.ExitError","errorMessage":"Task timed out after 3.00 seconds"})";
  } else if (type == "Event") {
    rep.status = 202;
  } else if (type == "DryRun") {
    rep.status = 204;
  } else {
    rep.headers.emplace_back("X-Amz-Executed-Version", "$LATEST");
    if (r.Header("x-amz-log-type") == "Tail") {
      rep.headers.emplace_back("X-Amz-Log-Result",
                               Base64Encode("START RequestId: x\nhello log\nEND RequestId: x\n"));
    }
    rep.body = "echo:" + r.body + " q=" + in.raw_query;
  }
  return rep;
}

struct LocalFixture {
  TestHttpServer server{PlayInvoke};
  IoLoop loop;
  CurlHttpClient http{loop};
  AwsClient aws{loop, http, StaticCredentials(TestCreds()),
                ServiceConfig{"lambda", "us-east-1", server.url(), AwsProtocol::kRestJson}};
  LambdaClient lambda{aws};
};

TEST(LambdaClientTest, InvokeTypesLogTailAndQualifier) {
  LocalFixture f;
  InvokeRequest req;
  req.function_name = "fn";
  req.payload = R"({"a":1})";
  req.tail_log = true;
  req.qualifier = "live";
  auto r = f.lambda.InvokeAndWait(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status_code, 200);
  EXPECT_EQ(r->payload, R"(echo:{"a":1} q=Qualifier=live)");
  EXPECT_EQ(r->log_tail, "START RequestId: x\nhello log\nEND RequestId: x\n");
  EXPECT_EQ(r->function_error, "");
  EXPECT_EQ(r->executed_version, "$LATEST");
  EXPECT_EQ(r->request_id, "req-/2015-03-31/functions/fn/invocations");

  req.tail_log = false;
  req.qualifier.clear();
  req.type = InvocationType::kEvent;
  r = f.lambda.InvokeAndWait(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status_code, 202);
  req.type = InvocationType::kDryRun;
  r = f.lambda.InvokeAndWait(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status_code, 204);
}

TEST(LambdaClientTest, FunctionErrorIsAResultNotAnError) {
  LocalFixture f;
  InvokeRequest req;
  req.function_name = "crashes";
  auto r = f.lambda.InvokeAndWait(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status_code, 200);
  EXPECT_EQ(r->function_error, "Unhandled");
  EXPECT_NE(r->payload.find("Task timed out after 3.00 seconds"), std::string::npos);
}

TEST(LambdaClientTest, ThrottleCarriesReasonAndRetryAfterAndIsNotRetriedByDefault) {
  LocalFixture f;
  InvokeRequest req;
  req.function_name = "throttled";
  auto r = f.lambda.InvokeAndWait(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kThrottled);
  EXPECT_EQ(r.error().code, "TooManyRequestsException");
  EXPECT_EQ(r.error().reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_DOUBLE_EQ(r.error().retry_after_seconds, 7);
  EXPECT_EQ(r.error().request_id, "t-1");
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(f.server.requests(), 1u);

  req.function_name = "missing";
  r = f.lambda.InvokeAndWait(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "lambda Invoke: ResourceNotFoundException: Function not found: "
            "arn:aws:lambda:us-east-1:1:function:missing (HTTP 404, request id m-1)");
}

TEST(LambdaClientTest, ManyInvokesInFlightOnOneConnectionPool) {
  LocalFixture f;
  int ok = 0;
  for (int i = 0; i < 300; ++i) {
    InvokeRequest req;
    req.function_name = "fn";
    req.payload = std::to_string(i);
    f.lambda.Invoke(req, [&ok, i](AwsResult<InvokeResult> r) {
      if (r.ok() && r->payload == "echo:" + std::to_string(i) + " q=") ++ok;
    });
  }
  f.loop.Run();
  EXPECT_EQ(ok, 300);
}

TEST(LambdaClientTest, WrongSecretGivesTheServiceAuthError) {
  LocalFixture f;
  Credentials bad = TestCreds();
  bad.secret_access_key = "NOTTHESECRETnotthesecret0000000000000000";
  bad.source = "environment variables";
  AwsClient aws(f.loop, f.http, StaticCredentials(bad),
                ServiceConfig{"lambda", "us-east-1", f.server.url(), AwsProtocol::kRestJson});
  LambdaClient lambda(aws);
  InvokeRequest req;
  req.function_name = "fn";
  auto r = lambda.InvokeAndWait(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidSignatureException");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("credentials from environment variables"), std::string::npos);
  EXPECT_EQ(r.status().message().find("NOTTHESECRET"), std::string::npos);
}

TEST(LambdaClientTest, AccountSettingsParsed) {
  TestHttpServer server([](const TestHttpServer::Request& r) {
    TestHttpServer::Reply rep;
    if (r.target != "/2016-08-19/account-settings" || r.method != "GET") {
      rep.status = 404;
      return rep;
    }
    rep.body = R"({"AccountLimit":{"TotalCodeSize":80530636800,"CodeSizeUnzipped":262144000,)"
               R"("CodeSizeZipped":52428800,"ConcurrentExecutions":1000,)"
               R"("UnreservedConcurrentExecutions":900},)"
               R"("AccountUsage":{"TotalCodeSize":1234,"FunctionCount":7}})";
    return rep;
  });
  IoLoop loop;
  CurlHttpClient http(loop);
  AwsClient aws(loop, http, StaticCredentials(TestCreds()),
                ServiceConfig{"lambda", "us-east-1", server.url(), AwsProtocol::kRestJson});
  LambdaClient lambda(aws);
  auto s = lambda.GetAccountSettingsAndWait();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->concurrent_executions, 1000);
  EXPECT_EQ(s->unreserved_concurrent_executions, 900);
  EXPECT_EQ(s->code_size_zipped, 52428800);
  EXPECT_EQ(s->function_count, 7);
}

// The control plane against moto_server with signatures enforced.
TEST(LambdaClientMotoTest, FunctionLifecycle) {
  auto* moto = parallelagram::testing::MotoFixture::Shared();
  ASSERT_TRUE(moto->ok()) << moto->error();
  IoLoop loop;
  CurlHttpClient http(loop);
  // A role for the function, made through our own signed IAM query call.
  AwsClient iam(loop, http, StaticCredentials(moto->credentials()),
                ServiceConfig{"iam", "us-east-1", moto->endpoint(), AwsProtocol::kQuery});
  auto role = iam.SendAndWait(
      MakeQueryRequest("CreateRole", "2010-05-08",
                       {{"RoleName", "pg-fn-role"},
                        {"AssumeRolePolicyDocument",
                         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
                         R"({"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]})"}}));
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  const std::string role_arn = "arn:aws:iam::123456789012:role/pg-fn-role";

  AwsClient aws(loop, http, StaticCredentials(moto->credentials()),
                ServiceConfig{"lambda", "us-east-1", moto->endpoint(), AwsProtocol::kRestJson});
  LambdaClient lambda(aws);
  CreateFunctionRequest cr;
  cr.function_name = "pg-fn";
  cr.role = role_arn;
  cr.zip_file = std::string("PK\x05\x06", 4) + std::string(18, '\0');  // an empty zip archive
  cr.timeout_seconds = 120;
  cr.memory_mb = 1769;
  cr.architecture = "arm64";
  cr.environment = {{"PG_MODE", "worker"}, {"A B", "x=y&z"}};
  auto created = lambda.CreateFunctionAndWait(cr);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->function_name, "pg-fn");
  EXPECT_EQ(created->memory_mb, 1769);
  EXPECT_EQ(created->timeout_seconds, 120);
  EXPECT_EQ(created->runtime, "provided.al2023");
  EXPECT_EQ(created->role, role_arn);

  auto active = lambda.WaitUntilActiveAndWait("pg-fn", 30000, 200);
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(active->state, "Active");

  auto got = lambda.GetFunctionAndWait("pg-fn");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->configuration.environment.at("A B"), "x=y&z");
  EXPECT_EQ(got->configuration.architectures, std::vector<std::string>{"arm64"});
  EXPECT_FALSE(got->reserved_concurrency.has_value());

  UpdateFunctionConfigurationRequest ur;
  ur.function_name = "pg-fn";
  ur.memory_mb = 512;
  ur.timeout_seconds = 900;
  auto updated = lambda.UpdateFunctionConfigurationAndWait(ur);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  auto ready = lambda.WaitUntilUpdatedAndWait("pg-fn", 30000, 200);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->memory_mb, 512);
  EXPECT_EQ(ready->timeout_seconds, 900);

  UpdateFunctionCodeRequest uc;
  uc.function_name = "pg-fn";
  uc.zip_file = cr.zip_file;
  auto code = lambda.UpdateFunctionCodeAndWait(uc);
  ASSERT_TRUE(code.ok()) << code.status().ToString();

  auto put = lambda.PutFunctionConcurrencyAndWait("pg-fn", 25);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*put, 25);
  auto conc = lambda.GetFunctionConcurrencyAndWait("pg-fn");
  ASSERT_TRUE(conc.ok()) << conc.status().ToString();
  EXPECT_EQ(conc->value_or(-1), 25);
  auto del_conc = lambda.DeleteFunctionConcurrencyAndWait("pg-fn");
  ASSERT_TRUE(del_conc.ok()) << del_conc.status().ToString();
  conc = lambda.GetFunctionConcurrencyAndWait("pg-fn");
  ASSERT_TRUE(conc.ok()) << conc.status().ToString();
  EXPECT_FALSE(conc->has_value());

  auto del = lambda.DeleteFunctionAndWait("pg-fn");
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  auto gone = lambda.GetFunctionAndWait("pg-fn");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.error().code, "ResourceNotFoundException") << gone.status().message();

  // A wrong secret is refused by moto's signature check.
  Credentials bad = moto->credentials();
  bad.secret_access_key = "WRONGwrongWRONGwrong00000000000000000000";
  AwsClient bad_aws(loop, http, StaticCredentials(bad),
                    ServiceConfig{"lambda", "us-east-1", moto->endpoint(), AwsProtocol::kRestJson});
  LambdaClient bad_lambda(bad_aws);
  auto denied = bad_lambda.GetFunctionConfigurationAndWait("pg-fn");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied) << denied.status().message();
  EXPECT_EQ(denied.error().code, "SignatureDoesNotMatch");
}

}  // namespace
}  // namespace parallelagram::aws
