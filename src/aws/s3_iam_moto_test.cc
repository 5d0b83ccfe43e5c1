// S3 and IAM clients against a real moto_server with SigV4 enforced (every
// call after the fixture's free bootstrap calls must be signed with the test
// user's key; a bad signature is refused).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "aws/aws_client.h"
#include "aws/iam_client.h"
#include "aws/iam_policy.h"
#include "aws/moto_fixture_test_util.h"
#include "aws/s3_client.h"
#include "common/sha256.h"
#include "http/http_client.h"

namespace parallelagram::aws {
namespace {

using testing::MotoFixture;

MotoFixture* Moto() {
  MotoFixture* m = MotoFixture::Shared();
  return m;
}

#define REQUIRE_MOTO()                            \
  do {                                            \
    if (!Moto()->ok()) FAIL() << Moto()->error(); \
  } while (0)

ServiceConfig S3Config(const std::string& region = "us-east-1") {
  return {"s3", region, Moto()->endpoint(), AwsProtocol::kRestXml, true};
}

// Passes requests through to a real client, except UploadPart number
// `fail_part`, which fails as a transport error (to test the abort path).
class FailingPartHttp : public HttpClient {
 public:
  FailingPartHttp(IoLoop& loop, HttpClient& real, int fail_part)
      : loop_(loop), real_(real), fail_part_(fail_part) {}
  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override {
    if (request.url.find("partNumber=" + std::to_string(fail_part_) + "&") != std::string::npos) {
      loop_.AddTimer(0, [done] { done(Status::Unavailable("injected: connection reset")); });
      return;
    }
    real_.Send(std::move(request), std::move(done));
  }

 private:
  IoLoop& loop_;
  HttpClient& real_;
  int fail_part_;
};

struct S3Env {
  explicit S3Env(S3Client::Options opts = {}, Credentials creds = Moto()->credentials(),
                 const std::string& region = "us-east-1")
      : http(loop),
        aws(loop, http, StaticCredentials(creds), S3Config(region)),
        s3(aws, WithPathStyle(opts)) {}
  static S3Client::Options WithPathStyle(S3Client::Options o) {
    o.path_style = true;
    return o;
  }
  template <typename T, typename F>
  AwsResult<T> Wait(F f) {
    return RunUntilDone<T>(loop, f);
  }
  IoLoop loop;
  CurlHttpClient http;
  AwsClient aws;
  S3Client s3;
};

using Empty = S3Client::Empty;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pg_s3_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// moto's signature check (v5.x) rebuilds the canonical request from a decoded
// URL, so it refuses correctly signed requests -- boto3's too -- whose key
// holds '=', '+', '%' or non-ASCII, or whose query values hold '/'. Those keys
// are exercised with the check lifted (POST /moto-api/reset-auth); that our
// signatures for them are right is what the botocore-oracle SigV4 test proves.
void SetMotoAuth(S3Env& e, bool on) {
  HttpRequest r;
  r.method = "POST";
  r.url = Moto()->endpoint() + "/moto-api/reset-auth";
  r.body = on ? "0" : "inf";
  auto resp = SendAndWait(e.loop, e.http, r);
  ASSERT_TRUE(resp.ok() && resp->status == 200);
}

void RoundTripKeys(S3Env& e, const std::string& bucket, const std::vector<std::string>& keys,
                   const std::string& prefix, const std::string& prefix_match) {
  for (size_t i = 0; i < keys.size(); ++i) {
    S3PutOptions po;
    po.content_type = "text/plain";
    po.metadata["idx"] = std::to_string(i);
    auto put = e.Wait<std::string>(
        [&](auto d) { e.s3.PutObject(bucket, keys[i], "body of " + keys[i], d, po); });
    ASSERT_TRUE(put.ok()) << keys[i] << ": " << put.status().ToString();
    EXPECT_FALSE(put->empty());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = e.Wait<S3GetResult>([&](auto d) { e.s3.GetObject(bucket, keys[i], d); });
    ASSERT_TRUE(got.ok()) << keys[i] << ": " << got.status().ToString();
    EXPECT_EQ(got->body, "body of " + keys[i]);
    auto head = e.Wait<S3ObjectInfo>([&](auto d) { e.s3.HeadObject(bucket, keys[i], d); });
    ASSERT_TRUE(head.ok()) << keys[i] << ": " << head.status().ToString();
    EXPECT_EQ(head->size, static_cast<int64_t>(("body of " + keys[i]).size()));
    EXPECT_EQ(head->metadata["idx"], std::to_string(i));
    EXPECT_EQ(head->content_type, "text/plain");
  }
  // The listing gives back exactly the keys we wrote (encoding-type=url decoded).
  auto all = e.Wait<std::vector<S3Object>>([&](auto d) { e.s3.ListAllObjects(bucket, "", d); });
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::set<std::string> listed;
  for (const auto& o : all.value()) listed.insert(o.key);
  EXPECT_EQ(listed, std::set<std::string>(keys.begin(), keys.end()));
  auto pre =
      e.Wait<ListObjectsPage>([&](auto d) { e.s3.ListObjectsPage(bucket, prefix, "", 1000, d); });
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  ASSERT_EQ(pre->objects.size(), 1u);
  EXPECT_EQ(pre->objects[0].key, prefix_match);

  // Ranges, and streaming to a file.
  const std::string& k0 = keys[0];
  auto range = e.Wait<S3GetResult>([&](auto d) {
    e.s3.GetObject(bucket, k0, d, S3Client::Range{3, 6});
  });
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->body, "y of");
  auto tail = e.Wait<S3GetResult>([&](auto d) {
    e.s3.GetObject(bucket, k0, d, S3Client::Range{8, -1});
  });
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->body, k0);
  std::string file = TempPath("get");
  auto to_file = e.Wait<S3GetResult>(
      [&](auto d) { e.s3.GetObject(bucket, keys.back(), d, std::nullopt, file); });
  ASSERT_TRUE(to_file.ok()) << to_file.status().ToString();
  std::ifstream in(file, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "body of " + keys.back());
  std::filesystem::remove(file);

  auto del = e.Wait<Empty>([&](auto d) { e.s3.DeleteObjects(bucket, keys, d); });
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  auto after = e.Wait<std::vector<S3Object>>([&](auto d) { e.s3.ListAllObjects(bucket, "", d); });
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST(S3Moto, ObjectsWithAwkwardKeysRoundTrip) {
  REQUIRE_MOTO();
  S3Env e;
  const std::string bucket = "pg-keys";
  auto cb = e.Wait<Empty>([&](auto d) { e.s3.CreateBucket(bucket, d); });
  ASSERT_TRUE(cb.ok()) << cb.status().ToString();

  // Signature checked: spaces, '~', repeated slashes, dot segments kept as is.
  RoundTripKeys(e, bucket,
                {"with space.txt", "dir/sub dir/x y", "tilde~home", "a//double//slash",
                 " leading and trailing "},
                "tilde", "tilde~home");

  // Missing objects are NotFound with S3's code.
  auto missing = e.Wait<S3GetResult>([&](auto d) { e.s3.GetObject(bucket, "nope", d); });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("NoSuchKey"), std::string::npos)
      << missing.status().message();
  auto head_missing = e.Wait<S3ObjectInfo>([&](auto d) { e.s3.HeadObject(bucket, "nope", d); });
  EXPECT_EQ(head_missing.status().code(), StatusCode::kNotFound);

  // Keys moto's verifier cannot check (see SetMotoAuth).
  SetMotoAuth(e, false);
  RoundTripKeys(e, bucket,
                {"plus+sign",
                 "\xc3\xbcnic\xc3\xb8"
                 "de/\xe2\x9c\x93.bin",
                 "eq=ual=s", "per%cent%20not-escape", "mixed +=%~ \xe6\x97\xa5\xe6\x9c\xac"},
                "\xc3\xbcnic",
                "\xc3\xbcnic\xc3\xb8"
                "de/\xe2\x9c\x93.bin");
  SetMotoAuth(e, true);

  auto db = e.Wait<Empty>([&](auto d) { e.s3.DeleteBucket(bucket, d); });
  EXPECT_TRUE(db.ok()) << db.status().ToString();
}

TEST(S3Moto, CreateBucketOutsideUsEast1SendsLocationConstraint) {
  REQUIRE_MOTO();
  S3Env e({}, Moto()->credentials(), "eu-west-1");
  auto cb = e.Wait<Empty>([&](auto d) { e.s3.CreateBucket("pg-eu-bucket", d); });
  ASSERT_TRUE(cb.ok()) << cb.status().ToString();
  // moto answers GetBucketLocation from the constraint it was given.
  AwsRequest loc;
  loc.operation = "GetBucketLocation";
  loc.http.url = "/pg-eu-bucket?location";
  auto r = e.aws.SendAndWait(loc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->body.find("eu-west-1"), std::string::npos) << r->body;
  EXPECT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.DeleteBucket("pg-eu-bucket", d); }).ok());
}

TEST(S3Moto, MultipartFiftyMegabytesRoundTripsByteIdentical) {
  REQUIRE_MOTO();
  S3Client::Options opts;
  opts.part_size = 5 * kMiB;
  opts.max_parallel_parts = 4;
  opts.unsigned_file_payloads = true;  // streamed parts, UNSIGNED-PAYLOAD (moto verifies it)
  S3Env e(opts);
  const std::string bucket = "pg-multipart";
  ASSERT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.CreateBucket(bucket, d); }).ok());

  const int64_t size = 50 * 1000 * 1000 + 12345;  // 50 MB, last part short
  std::string src = TempPath("src");
  {
    std::mt19937_64 rng(42);
    std::string chunk(1 << 20, '\0');
    std::ofstream out(src, std::ios::binary);
    for (int64_t off = 0; off < size; off += static_cast<int64_t>(chunk.size())) {
      for (size_t i = 0; i < chunk.size(); i += 8) {
        uint64_t v = rng();
        std::memcpy(&chunk[i], &v, 8);
      }
      out.write(chunk.data(), std::min<int64_t>(static_cast<int64_t>(chunk.size()), size - off));
    }
  }
  const std::string key = "big/fifty mb~.bin";
  auto up = e.Wait<std::string>([&](auto d) { e.s3.UploadFile(bucket, key, src, d); });
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_NE(up->find("-10"), std::string::npos) << "multipart ETag ends in -<parts>: " << *up;

  std::string dst = TempPath("dst");
  auto got =
      e.Wait<S3GetResult>([&](auto d) { e.s3.GetObject(bucket, key, d, std::nullopt, dst); });
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(std::filesystem::file_size(dst), static_cast<uintmax_t>(size));
  EXPECT_EQ(*Sha256File(dst), *Sha256File(src));

  // A ranged read across a part boundary equals the same bytes of the source.
  auto mid = e.Wait<S3GetResult>([&](auto d) {
    e.s3.GetObject(bucket, key, d, S3Client::Range{5 * kMiB - 10, 5 * kMiB + 9});
  });
  ASSERT_TRUE(mid.ok());
  std::ifstream in(src, std::ios::binary);
  in.seekg(5 * kMiB - 10);
  std::string expect(20, '\0');
  in.read(expect.data(), 20);
  EXPECT_EQ(mid->body, expect);

  // In-memory multipart, signed payloads.
  auto buf = std::make_shared<std::string>(11 * kMiB + 7, 'x');
  (*buf)[0] = 'A';
  (*buf)[buf->size() - 1] = 'Z';
  auto upb = e.Wait<std::string>([&](auto d) { e.s3.UploadBuffer(bucket, "buf", buf, d); });
  ASSERT_TRUE(upb.ok()) << upb.status().ToString();
  auto gotb = e.Wait<S3GetResult>([&](auto d) { e.s3.GetObject(bucket, "buf", d); });
  ASSERT_TRUE(gotb.ok());
  EXPECT_TRUE(gotb->body == *buf);

  std::filesystem::remove(src);
  std::filesystem::remove(dst);
  ASSERT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.DeleteObjects(bucket, {key, "buf"}, d); }).ok());
  EXPECT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.DeleteBucket(bucket, d); }).ok());
}

TEST(S3Moto, FailedPartAbortsTheMultipartUpload) {
  REQUIRE_MOTO();
  IoLoop loop;
  CurlHttpClient real(loop);
  FailingPartHttp failing(loop, real, 2);
  AwsClient::Options ao;
  ao.retry.max_attempts = 1;
  AwsClient aws(loop, failing, StaticCredentials(Moto()->credentials()), S3Config(), ao);
  S3Client::Options so;
  so.path_style = true;
  so.part_size = 5 * kMiB;
  S3Client s3(aws, so);
  ASSERT_TRUE(RunUntilDone<Empty>(loop, [&](auto d) { s3.CreateBucket("pg-abort", d); }).ok());
  auto data = std::make_shared<std::string>(16 * kMiB, 'q');
  auto up =
      RunUntilDone<std::string>(loop, [&](auto d) { s3.UploadBuffer("pg-abort", "k", data, d); });
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.status().message().find("injected"), std::string::npos) << up.status().message();
  // No upload is left behind.
  AwsRequest list;
  list.operation = "ListMultipartUploads";
  list.http.url = "/pg-abort?uploads";
  auto r = aws.SendAndWait(list);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body.find("<UploadId>"), std::string::npos) << r->body;
  EXPECT_TRUE(RunUntilDone<Empty>(loop, [&](auto d) { s3.DeleteBucket("pg-abort", d); }).ok());
}

TEST(S3Moto, ListsMoreThanOneThousandKeysAndDeletesInBatches) {
  REQUIRE_MOTO();
  S3Env e;
  const std::string bucket = "pg-many";
  ASSERT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.CreateBucket(bucket, d); }).ok());
  const int n = 1050;
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("many/k " + std::to_string(i));
  int pending = n, failed = 0;
  for (const auto& k : keys) {
    e.s3.PutObject(bucket, k, k, [&](AwsResult<std::string> r) {
      if (!r.ok()) ++failed;
      --pending;
    });
  }
  while (pending > 0) e.loop.RunOnce(1000);
  ASSERT_EQ(failed, 0);
  // Pages of 1,000 at most, continuation tokens followed.
  auto page =
      e.Wait<ListObjectsPage>([&](auto d) { e.s3.ListObjectsPage(bucket, "many", "", 1000, d); });
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->objects.size(), 1000u);
  EXPECT_TRUE(page->is_truncated);
  auto all = e.Wait<std::vector<S3Object>>([&](auto d) { e.s3.ListAllObjects(bucket, "many", d); });
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::set<std::string> listed;
  for (const auto& o : all.value()) listed.insert(o.key);
  EXPECT_EQ(listed.size(), static_cast<size_t>(n));
  EXPECT_EQ(listed, std::set<std::string>(keys.begin(), keys.end()));
  auto del = e.Wait<Empty>([&](auto d) { e.s3.DeleteObjects(bucket, keys, d); });
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  auto after = e.Wait<std::vector<S3Object>>([&](auto d) { e.s3.ListAllObjects(bucket, "", d); });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 0u);
  EXPECT_TRUE(e.Wait<Empty>([&](auto d) { e.s3.DeleteBucket(bucket, d); }).ok());
}

TEST(S3Moto, WrongSecretAndUnknownTokenFailWithCodeAndSource) {
  REQUIRE_MOTO();
  Credentials bad = Moto()->credentials();
  bad.secret_access_key = "wrongSECRETwrongSECRETwrongSECRET0123456";
  bad.source = "environment variables";
  S3Env e({}, bad);
  auto r = e.Wait<Empty>([&](auto d) { e.s3.CreateBucket("pg-denied", d); });
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(m.find("SignatureDoesNotMatch"), std::string::npos) << m;
  EXPECT_NE(m.find("credentials from environment variables"), std::string::npos) << m;
  EXPECT_EQ(m.find(bad.secret_access_key), std::string::npos);
  EXPECT_EQ(m.find('\n'), std::string::npos);

  // A session token moto never issued (as after a session expired and was
  // forgotten): moto refuses it with S3's InvalidToken.
  Credentials tok = Moto()->credentials();
  tok.session_token = "FwoGZXIvYXdzEXPIREDTOKENEXPIREDTOKEN";
  tok.source = "profile 'stale'";
  S3Env t({}, tok);
  auto r2 = t.Wait<std::vector<S3Object>>([&](auto d) { t.s3.ListAllObjects("any", "", d); });
  ASSERT_FALSE(r2.ok());
  const std::string& m2 = r2.status().message();
  EXPECT_EQ(r2.status().code(), StatusCode::kPermissionDenied) << m2;
  EXPECT_NE(m2.find("InvalidToken"), std::string::npos) << m2;
  EXPECT_NE(m2.find("credentials from profile 'stale'"), std::string::npos) << m2;
  EXPECT_EQ(m2.find(tok.session_token), std::string::npos);
  EXPECT_EQ(m2.find(tok.secret_access_key), std::string::npos);
}

struct IamEnv {
  explicit IamEnv(Credentials c = Moto()->credentials())
      : http(loop),
        aws(loop, http, StaticCredentials(c),
            ServiceConfig{"iam", "us-east-1", Moto()->endpoint(), AwsProtocol::kQuery, false}),
        iam(aws) {}
  template <typename T, typename F>
  AwsResult<T> Wait(F f) {
    return RunUntilDone<T>(loop, f);
  }
  IoLoop loop;
  CurlHttpClient http;
  AwsClient aws;
  IamClient iam;
};

TEST(IamMoto, RoleLifecycleAndPolicies) {
  REQUIRE_MOTO();
  IamEnv e;
  using IEmpty = IamClient::Empty;
  const std::string trust = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
                            R"({"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]})";
  auto role = e.Wait<IamRole>(
      [&](auto d) { e.iam.CreateRole("pg-role", trust, "parallelagram test role + = %", d); });
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  EXPECT_EQ(role->name, "pg-role");
  EXPECT_EQ(RoleNameFromArn(role->arn), "pg-role");
  auto got = e.Wait<IamRole>([&](auto d) { e.iam.GetRole("pg-role", d); });
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->arn, role->arn);
  EXPECT_EQ(nlohmann::json::parse(got->assume_role_policy_document), nlohmann::json::parse(trust));

  auto dup = e.Wait<IamRole>([&](auto d) { e.iam.CreateRole("pg-role", trust, "", d); });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists) << dup.status().message();
  EXPECT_NE(dup.status().message().find("EntityAlreadyExists"), std::string::npos);

  // No policies yet: logs:CreateLogStream not allowed.
  auto docs0 =
      e.Wait<std::vector<std::string>>([&](auto d) { e.iam.GetRolePolicyDocuments("pg-role", d); });
  ASSERT_TRUE(docs0.ok()) << docs0.status().ToString();
  EXPECT_TRUE(docs0->empty());

  const std::string logs_policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:Create*",)"
      R"("logs:PutLogEvents"],"Resource":"arn:aws:logs:*:*:*"}]})";
  const std::string s3_policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",)"
      R"("Resource":"arn:aws:s3:::b/*"}]})";
  ASSERT_TRUE(
      e.Wait<IEmpty>([&](auto d) { e.iam.PutRolePolicy("pg-role", "logs", logs_policy, d); }).ok());
  ASSERT_TRUE(
      e.Wait<IEmpty>([&](auto d) { e.iam.PutRolePolicy("pg-role", "s3", s3_policy, d); }).ok());
  auto docs =
      e.Wait<std::vector<std::string>>([&](auto d) { e.iam.GetRolePolicyDocuments("pg-role", d); });
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(*EvaluatePolicies(*docs, "logs:CreateLogStream"), PolicyDecision::kAllowed);

  ASSERT_TRUE(e.Wait<IEmpty>([&](auto d) { e.iam.DeleteRolePolicy("pg-role", "logs", d); }).ok());
  docs =
      e.Wait<std::vector<std::string>>([&](auto d) { e.iam.GetRolePolicyDocuments("pg-role", d); });
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ(*EvaluatePolicies(*docs, "logs:CreateLogStream"), PolicyDecision::kNotMentioned);

  // A managed policy attached to the role counts too.
  const std::string managed_doc =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]})";
  auto cp = e.Wait<HttpResponse>([&](auto d) {
    e.iam.Call("CreatePolicy", {{"PolicyName", "pg-logs"}, {"PolicyDocument", managed_doc}}, d);
  });
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  std::string policy_arn;
  {
    size_t a = cp->body.find("<Arn>"), b = cp->body.find("</Arn>");
    ASSERT_NE(a, std::string::npos);
    policy_arn = cp->body.substr(a + 5, b - a - 5);
  }
  ASSERT_TRUE(
      e.Wait<HttpResponse>([&](auto d) {
         e.iam.Call("AttachRolePolicy", {{"RoleName", "pg-role"}, {"PolicyArn", policy_arn}}, d);
       }).ok());
  docs =
      e.Wait<std::vector<std::string>>([&](auto d) { e.iam.GetRolePolicyDocuments("pg-role", d); });
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(*EvaluatePolicies(*docs, "logs:CreateLogStream"), PolicyDecision::kAllowed);
  ASSERT_TRUE(
      e.Wait<HttpResponse>([&](auto d) {
         e.iam.Call("DetachRolePolicy", {{"RoleName", "pg-role"}, {"PolicyArn", policy_arn}}, d);
       }).ok());

  ASSERT_TRUE(e.Wait<IEmpty>([&](auto d) { e.iam.DeleteRolePolicy("pg-role", "s3", d); }).ok());
  auto del = e.Wait<IEmpty>([&](auto d) { e.iam.DeleteRole("pg-role", d); });
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  auto gone = e.Wait<IamRole>([&](auto d) { e.iam.GetRole("pg-role", d); });
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().message();
  EXPECT_NE(gone.status().message().find("NoSuchEntity"), std::string::npos);
}

TEST(IamMoto, WrongSecretIsRefusedWithoutLeakingIt) {
  REQUIRE_MOTO();
  Credentials bad = Moto()->credentials();
  bad.secret_access_key = "definitelyNotTheSecretKey0123456789abcdef";
  bad.source = "shared credentials file";
  IamEnv e(bad);
  auto r = e.Wait<IamRole>([&](auto d) { e.iam.GetRole("whatever", d); });
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << m;
  EXPECT_NE(m.find("SignatureDoesNotMatch"), std::string::npos) << m;
  EXPECT_NE(m.find("credentials from shared credentials file"), std::string::npos) << m;
  EXPECT_EQ(m.find(bad.secret_access_key), std::string::npos);
}

}  // namespace
}  // namespace parallelagram::aws
