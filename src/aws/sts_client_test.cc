// StsClient against a real moto_server with SigV4 enforced.
#include "aws/sts_client.h"

#include <gtest/gtest.h>

#include "aws/moto_fixture_test_util.h"
#include "http/test_http_server.h"

namespace parallelagram::aws {
namespace {

TEST(StsClientMotoTest, CallerIdentityAssumeRoleAndBadKeys) {
  auto* moto = testing::MotoFixture::Shared();
  ASSERT_TRUE(moto->ok()) << moto->error();
  IoLoop loop;
  CurlHttpClient http(loop);
  ServiceConfig cfg{"sts", "us-east-1", moto->endpoint(), AwsProtocol::kQuery};
  AwsClient client(loop, http, StaticCredentials(moto->credentials()), cfg);
  StsClient sts(client);

  auto id = sts.GetCallerIdentityAndWait();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->arn, "arn:aws:iam::123456789012:user/pg-test");
  EXPECT_EQ(id->account, "123456789012");

  AssumeRoleRequest ar;
  ar.role_arn = "arn:aws:iam::123456789012:role/pg role+x";
  ar.role_session_name = "pg-session";
  ar.duration_seconds = 900;
  auto role = sts.AssumeRoleAndWait(ar);
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  EXPECT_FALSE(role->credentials.access_key_id.empty());
  EXPECT_FALSE(role->credentials.session_token.empty());
  EXPECT_GT(role->credentials.expiration_epoch_ms, 0);
  EXPECT_NE(role->assumed_role_arn.find("pg-session"), std::string::npos) << role->assumed_role_arn;
  EXPECT_EQ(role->credentials.source.find(role->credentials.secret_access_key), std::string::npos);

  // A wrong secret: moto refuses the signature; the message is one line, has the
  // code and names the source, never the secret.
  Credentials bad = moto->credentials();
  bad.secret_access_key = "WRONGSECRETwrongsecretWRONGSECRET0000000";
  bad.source = "environment variables";
  AwsClient bad_client(loop, http, StaticCredentials(bad), cfg);
  StsClient bad_sts(bad_client);
  auto denied = bad_sts.GetCallerIdentityAndWait();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.error().code, "SignatureDoesNotMatch");
  EXPECT_NE(denied.status().message().find("credentials from environment variables"),
            std::string::npos)
      << denied.status().message();
  EXPECT_EQ(denied.status().message().find("WRONGSECRET"), std::string::npos);
  EXPECT_EQ(denied.error().attempts, 1);

  // An unknown access key id.
  bad.access_key_id = "AKIANOTAKEY000000000";
  AwsClient unknown_client(loop, http, StaticCredentials(bad), cfg);
  StsClient unknown_sts(unknown_client);
  auto unknown = unknown_sts.GetCallerIdentityAndWait();
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(unknown.error().code, "InvalidClientTokenId") << unknown.status().message();

  // Temporary credentials from AssumeRole sign later calls.
  AwsClient role_client(loop, http, StaticCredentials(role->credentials), cfg);
  StsClient role_sts(role_client);
  auto as_role = role_sts.GetCallerIdentityAndWait();
  ASSERT_TRUE(as_role.ok()) << as_role.status().ToString();
  EXPECT_NE(as_role->arn.find("assumed-role"), std::string::npos) << as_role->arn;
}

// moto answers an unsigned request with HTTP 500 while it enforces signatures
// (boto3 fails the same way), so AssumeRoleWithWebIdentity's wire form is
// checked here: unsigned, the token only in the form body, and STS's documented
// response shape parsed.
TEST(StsClientTest, AssumeRoleWithWebIdentityIsUnsignedAndParsed) {
  testing::TestHttpServer::Request seen;
  testing::TestHttpServer server([&](const testing::TestHttpServer::Request& r) {
    seen = r;
    testing::TestHttpServer::Reply rep;
    rep.body =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>sub"
        "</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::123456789012:"
        "assumed-role/web/web-session</Arn><AssumedRoleId>AROA:web-session</AssumedRoleId>"
        "</AssumedRoleUser><Credentials><SessionToken>TOKEN</SessionToken><SecretAccessKey>SECRET"
        "</SecretAccessKey><Expiration>2023-11-14T23:13:20Z</Expiration><AccessKeyId>ASIA1"
        "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult><ResponseMetadata>"
        "<RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>";
    return rep;
  });
  IoLoop loop;
  CurlHttpClient http(loop);
  AwsClient client(
      loop, http,
      [] { return Result<std::shared_ptr<const Credentials>>(Status::NotFound("none")); },
      ServiceConfig{"sts", "us-east-1", server.url(), AwsProtocol::kQuery});
  StsClient sts(client);
  AssumeRoleWithWebIdentityRequest wr;
  wr.role_arn = "arn:aws:iam::123456789012:role/web";
  wr.role_session_name = "web-session";
  wr.web_identity_token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln";
  auto web = sts.AssumeRoleWithWebIdentityAndWait(wr);
  ASSERT_TRUE(web.ok()) << web.status().ToString();
  EXPECT_EQ(seen.Header("authorization"), "");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
            "123456789012%3Arole%2Fweb&RoleSessionName=web-session&WebIdentityToken="
            "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
  EXPECT_EQ(web->credentials.access_key_id, "ASIA1");
  EXPECT_EQ(web->credentials.session_token, "TOKEN");
  EXPECT_EQ(web->credentials.expiration_epoch_ms, 1700003600000);
  EXPECT_EQ(web->assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/web/web-session");
}

}  // namespace
}  // namespace parallelagram::aws
