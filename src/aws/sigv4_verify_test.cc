#include "aws/sigv4_verify.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "aws/sigv4.h"

namespace parallelagram::aws {
namespace {

constexpr int64_t kNow = 1700000000;

struct Fixture {
  Credentials creds{"AKIDVERIFY", "secret/with+chars", "", 0, "test"};
  HttpRequest req;
  SigningParams params;
  Fixture() {
    req.method = "POST";
    req.url = "http://127.0.0.1:9001/2015-03-31/functions/my%20fn/invocations?Qualifier=%241";
    req.headers = {{"X-Amz-Invocation-Type", "RequestResponse"}, {"User-Agent", "x"}};
    req.body = "{\"a\": 1}";
    params.service = "lambda";
    params.region = "us-east-1";
    params.epoch_seconds = kNow;
    params.sign_content_sha256 = true;
  }
  IncomingRequest Incoming() const {
    IncomingRequest in;
    in.method = req.method;
    std::string host;
    EXPECT_TRUE(SplitUrl(req.url, &host, &in.raw_path, &in.raw_query));
    in.headers = req.headers;
    in.headers.emplace_back("Host", host);
    in.body = req.body;
    return in;
  }
  KeyLookup Lookup() const {
    return [this](const std::string& id) -> std::optional<KnownKey> {
      if (id != creds.access_key_id) return std::nullopt;
      return KnownKey{creds.secret_access_key, creds.session_token, 0};
    };
  }
};

TEST(SigV4Verify, AcceptsOwnSignatureAndReportsCaller) {
  Fixture f;
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  VerifiedCaller caller;
  auto err = VerifySigV4(f.Incoming(), f.Lookup(), kNow + 100, {}, &caller);
  EXPECT_FALSE(err.has_value()) << err->message;
  EXPECT_EQ(caller.access_key_id, "AKIDVERIFY");
  EXPECT_EQ(caller.region, "us-east-1");
  EXPECT_EQ(caller.service, "lambda");
}

TEST(SigV4Verify, MissingAuthorization) {
  Fixture f;
  auto err = VerifySigV4(f.Incoming(), f.Lookup(), kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->http_status, 403);
  EXPECT_EQ(err->error_type, "MissingAuthenticationTokenException");
  EXPECT_EQ(err->message, "Missing Authentication Token");
}

TEST(SigV4Verify, UnknownKeyAndWrongToken) {
  Fixture f;
  Credentials other = f.creds;
  other.access_key_id = "AKIDOTHER";
  ASSERT_TRUE(SignRequest(f.req, other, f.params).ok());
  auto err = VerifySigV4(f.Incoming(), f.Lookup(), kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "UnrecognizedClientException");
  EXPECT_EQ(err->message, "The security token included in the request is invalid.");

  Fixture g;
  g.creds.session_token = "expected-token";
  Credentials wrong = g.creds;
  wrong.session_token = "other-token";
  ASSERT_TRUE(SignRequest(g.req, wrong, g.params).ok());
  err = VerifySigV4(g.Incoming(), g.Lookup(), kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "UnrecognizedClientException");
}

TEST(SigV4Verify, ExpiredToken) {
  Fixture f;
  f.creds.session_token = "tok";
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  auto lookup = [&](const std::string&) {
    return std::optional(KnownKey{f.creds.secret_access_key, "tok", kNow - 1});
  };
  auto err = VerifySigV4(f.Incoming(), lookup, kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "ExpiredTokenException");
}

TEST(SigV4Verify, SignatureMismatchOnTampering) {
  const std::string kMsg =
      "The request signature we calculated does not match the signature you provided. Check "
      "your AWS Secret Access Key and signing method. Consult the service documentation for "
      "details.";
  Fixture f;
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  IncomingRequest good = f.Incoming();
  std::string other_body = "{\"a\": 2}";
  std::vector<IncomingRequest> bad(5, good);
  bad[0].body = other_body;
  bad[1].raw_path = "/2015-03-31/functions/my%20fm/invocations";
  bad[2].raw_query = "Qualifier=%242";
  bad[3].method = "PUT";
  for (auto& h : bad[4].headers) {
    if (h.first == "X-Amz-Invocation-Type") h.second = "Event";
  }
  for (const auto& in : bad) {
    auto err = VerifySigV4(in, f.Lookup(), kNow);
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ(err->error_type, "InvalidSignatureException");
    EXPECT_EQ(err->message, kMsg);
  }
  // An unsigned header may change freely.
  IncomingRequest ua = good;
  for (auto& h : ua.headers) {
    if (h.first == "User-Agent") h.second = "changed";
  }
  EXPECT_FALSE(VerifySigV4(ua, f.Lookup(), kNow).has_value());
}

TEST(SigV4Verify, ClockSkew) {
  Fixture f;
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  EXPECT_FALSE(VerifySigV4(f.Incoming(), f.Lookup(), kNow + 299).has_value());
  EXPECT_FALSE(VerifySigV4(f.Incoming(), f.Lookup(), kNow - 299).has_value());
  auto late = VerifySigV4(f.Incoming(), f.Lookup(), kNow + 301);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->error_type, "InvalidSignatureException");
  EXPECT_EQ(late->message,
            "Signature expired: 20231114T221320Z is now earlier than "
            "20231114T221321Z (20231114T221821Z - 5 min.)");
  auto early = VerifySigV4(f.Incoming(), f.Lookup(), kNow - 301);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->error_type, "InvalidSignatureException");
  EXPECT_EQ(early->message.rfind("Signature not yet current: 20231114T221320Z", 0), 0u);
}

TEST(SigV4Verify, PresignedUrl) {
  Fixture f;
  f.req.method = "GET";
  f.req.body.clear();
  f.req.headers.clear();
  f.creds.session_token = "tok/en+=";
  ASSERT_TRUE(PresignRequest(f.req, f.creds, f.params, 60).ok());
  EXPECT_NE(f.req.url.find("X-Amz-Security-Token=tok%2Fen%2B%3D"), std::string::npos);
  EXPECT_FALSE(VerifySigV4(f.Incoming(), f.Lookup(), kNow + 59).has_value());
  auto expired = VerifySigV4(f.Incoming(), f.Lookup(), kNow + 61);
  ASSERT_TRUE(expired.has_value());
  EXPECT_EQ(expired->message.rfind("Signature expired", 0), 0u);
  IncomingRequest tampered = f.Incoming();
  tampered.raw_query.replace(tampered.raw_query.find("Qualifier=%241"), 14, "Qualifier=%242");
  auto err = VerifySigV4(tampered, f.Lookup(), kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "InvalidSignatureException");
}

TEST(SigV4Verify, MalformedAuthorization) {
  Fixture f;
  IncomingRequest in = f.Incoming();
  in.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDVERIFY/x");
  in.headers.emplace_back("X-Amz-Date", "20231114T221320Z");
  auto err = VerifySigV4(in, f.Lookup(), kNow);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->error_type, "IncompleteSignatureException");
}

TEST(SigV4, SignRequestReplacesOldAuthHeadersOnResign) {
  Fixture f;
  f.creds.session_token = "tok";
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  f.params.epoch_seconds += 60;
  ASSERT_TRUE(SignRequest(f.req, f.creds, f.params).ok());
  int auth = 0, date = 0, token = 0, sha = 0;
  for (const auto& [k, v] : f.req.headers) {
    auth += k == "Authorization";
    date += k == "X-Amz-Date";
    token += k == "X-Amz-Security-Token";
    sha += k == "x-amz-content-sha256";
  }
  EXPECT_EQ(auth + date + token + sha, 4);
  EXPECT_FALSE(VerifySigV4(f.Incoming(), f.Lookup(), kNow + 60).has_value());
}

TEST(SigV4, BodyFileHashMatchesBody) {
  std::string path = ::testing::TempDir() + "/sigv4_body_file_" + std::to_string(::getpid());
  FILE* fp = std::fopen(path.c_str(), "wb");
  ASSERT_NE(fp, nullptr);
  std::fputs("xxhello worldyy", fp);
  std::fclose(fp);
  Fixture a, b;
  a.req.body = "hello world";
  b.req.body.clear();
  b.req.body_file = path;
  b.req.body_file_offset = 2;
  b.req.body_file_length = 11;
  SigningResult ra, rb;
  ASSERT_TRUE(SignRequest(a.req, a.creds, a.params, &ra).ok());
  ASSERT_TRUE(SignRequest(b.req, b.creds, b.params, &rb).ok());
  EXPECT_EQ(ra.payload_hash, rb.payload_hash);
  EXPECT_EQ(ra.signature, rb.signature);
  b.req.body_file = path + ".missing";
  Status s = SignRequest(b.req, b.creds, b.params);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  std::remove(path.c_str());
}

TEST(SigV4, UriEncodeDecode) {
  EXPECT_EQ(UriEncode("a b+c%/~é", false), "a%20b%2Bc%25%2F~%C3%A9");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriDecode("a%20b%2bc+%zz%"), "a b+c+%zz%");
  EXPECT_EQ(CanonicalUri("/a/./b/../c//d%20e", true, true), "/a/c/d%2520e");
  EXPECT_EQ(CanonicalUri("/a/./b/../c//d%20e", false, false), "/a/./b/../c//d%20e");
}

}  // namespace
}  // namespace parallelagram::aws
