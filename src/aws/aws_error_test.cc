#include "aws/aws_error.h"

#include <gtest/gtest.h>

namespace parallelagram::aws {
namespace {

HttpResponse Resp(long status, std::string body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(AwsErrorTest, RestJsonLambdaThrottleWithReasonAndRetryAfter) {
  auto e = ParseAwsError(
      AwsProtocol::kRestJson,
      Resp(429,
           R"({"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User",)"
           R"("message":"Rate Exceeded."})",
           {{"x-amzn-requestid", "req-1"},
            {"x-amzn-errortype", "TooManyRequestsException"},
            {"retry-after", "3"}}),
      "lambda Invoke");
  EXPECT_EQ(e.code, "TooManyRequestsException");
  EXPECT_EQ(e.message, "Rate Exceeded.");
  EXPECT_EQ(e.reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_DOUBLE_EQ(e.retry_after_seconds, 3);
  EXPECT_EQ(e.status.code(), StatusCode::kThrottled);
  EXPECT_EQ(e.status.message(),
            "lambda Invoke: TooManyRequestsException: Rate Exceeded. (reason "
            "ReservedFunctionConcurrentInvocationLimitExceeded) (HTTP 429, request id req-1)");
}

TEST(AwsErrorTest, RestJsonCodeFromTypeFieldWhenNoHeader) {
  auto e = ParseAwsError(AwsProtocol::kRestJson,
                         Resp(404, R"({"__type":"com.amazon#ResourceNotFoundException:http://x",)"
                                   R"("Message":"Function not found: f"})"),
                         "lambda GetFunction");
  EXPECT_EQ(e.code, "ResourceNotFoundException");
  EXPECT_EQ(e.message, "Function not found: f");
  EXPECT_EQ(e.status.code(), StatusCode::kNotFound);
  EXPECT_DOUBLE_EQ(e.retry_after_seconds, -1);
}

TEST(AwsErrorTest, QueryXmlIamAndSts) {
  auto e = ParseAwsError(AwsProtocol::kQuery,
                         Resp(403,
                              "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                              "<Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                              "<Message>The security token included in the request is invalid."
                              "</Message></Error><RequestId>abc-123</RequestId></ErrorResponse>"),
                         "sts GetCallerIdentity");
  EXPECT_EQ(e.code, "InvalidClientTokenId");
  EXPECT_EQ(e.request_id, "abc-123");
  EXPECT_EQ(e.status.code(), StatusCode::kPermissionDenied);
  auto n = ParseAwsError(AwsProtocol::kQuery,
                         Resp(404,
                              "<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>The role "
                              "with name r cannot be found.</Message></Error>"
                              "<RequestId>r2</RequestId></ErrorResponse>"),
                         "iam GetRole");
  EXPECT_EQ(n.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(n.status.message(),
            "iam GetRole: NoSuchEntity: The role with name r cannot be found. (HTTP 404, request "
            "id r2)");
}

TEST(AwsErrorTest, RestXmlS3IncludingHeadWithoutBody) {
  auto e = ParseAwsError(AwsProtocol::kRestXml,
                         Resp(503,
                              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown"
                              "</Code><Message>Please reduce your request rate.</Message>"
                              "<RequestId>S3REQ</RequestId><HostId>h</HostId></Error>",
                              {{"x-amz-request-id", "HDRREQ"}}),
                         "s3 PutObject");
  EXPECT_EQ(e.code, "SlowDown");
  EXPECT_EQ(e.request_id, "S3REQ");
  EXPECT_EQ(e.status.code(), StatusCode::kThrottled);
  auto h = ParseAwsError(AwsProtocol::kRestXml, Resp(404, "", {{"x-amz-request-id", "HDRREQ"}}),
                         "s3 HeadObject");
  EXPECT_EQ(h.code, "NotFound");
  EXPECT_EQ(h.request_id, "HDRREQ");
  EXPECT_EQ(h.status.code(), StatusCode::kNotFound);
}

TEST(AwsErrorTest, GarbageBodyStillGivesAOneLineError) {
  auto e = ParseAwsError(AwsProtocol::kQuery, Resp(502, "<html>\nBad\ngateway</html"), "sts X");
  EXPECT_EQ(e.code, "HTTP502");
  EXPECT_EQ(e.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.status.message().find('\n'), std::string::npos);
}

TEST(AwsErrorTest, StatusCodeMapping) {
  EXPECT_EQ(ToStatusCode("ExpiredToken", 400), StatusCode::kPermissionDenied);
  EXPECT_EQ(ToStatusCode("EntityAlreadyExists", 409), StatusCode::kAlreadyExists);
  EXPECT_EQ(ToStatusCode("InvalidParameterValueException", 400), StatusCode::kInvalidArgument);
  EXPECT_EQ(ToStatusCode("ServiceException", 500), StatusCode::kUnavailable);
  EXPECT_EQ(ToStatusCode("RequestTimeout", 400), StatusCode::kTimeout);
  EXPECT_EQ(ToStatusCode("Throttling", 400), StatusCode::kThrottled);
}

}  // namespace
}  // namespace parallelagram::aws
