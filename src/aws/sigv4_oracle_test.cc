// Our SigV4 signer and verifier against independent implementations:
// botocore's signers (fixed clock) on 1,200 generated requests for s3, lambda,
// iam and sts, and curl --aws-sigv4 on a few real requests captured by a local
// server. tests/sigv4_oracle.py generates the cases and the oracle's answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aws/sigv4.h"
#include "aws/sigv4_verify.h"
#include "aws/signer.h"
#include "common/clock.h"

namespace parallelagram::aws {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json RunOracle(int count, int curl) {
  fs::path out =
      fs::path(::testing::TempDir()) / ("sigv4_oracle_" + std::to_string(::getpid()) + ".json");
  std::string cmd = "python3 '" + std::string(PG_SOURCE_DIR) +
                    "/tests/sigv4_oracle.py' --seed 20150830 --count " + std::to_string(count) +
                    " --curl " + std::to_string(curl) + " --out '" + out.string() + "'";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << " failed (python3 with botocore and curl are required)";
  std::ifstream f(out);
  json j = rc == 0 ? json::parse(f) : json::object();
  fs::remove(out);
  return j;
}

std::string BuildQuery(const json& pairs) {
  std::string q;
  for (const auto& p : pairs) {
    if (!q.empty()) q += '&';
    q +=
        UriEncode(p[0].get<std::string>(), false) + "=" + UriEncode(p[1].get<std::string>(), false);
  }
  return q;
}

std::string HeaderValue(const HttpHeaders& hs, const std::string& name) {
  for (const auto& [k, v] : hs) {
    if (k == name) return v;
  }
  return "";
}

HttpHeaders ToHeaders(const json& j) {
  HttpHeaders hs;
  for (const auto& h : j) hs.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
  return hs;
}

TEST(SigV4Oracle, AgreesWithBotocoreAndCurl) {
  json data = RunOracle(1200, 24);
  ASSERT_TRUE(data.contains("cases"));
  int total = 0, agree = 0, verified = 0, rejected_bad = 0, negatives = 0;
  int presigned = 0;
  std::map<std::string, int> per_service;
  for (const json& c : data["cases"]) {
    ++total;
    const std::string service = c["service"];
    const json& want = c["expected"];
    HttpRequest req;
    req.method = c["method"];
    std::string wire_path = UriEncode(c["raw_path"].get<std::string>(), true);
    std::string query = BuildQuery(c["query"]);
    req.url = c["endpoint"].get<std::string>() + wire_path + (query.empty() ? "" : "?" + query);
    req.headers = ToHeaders(c["headers"]);
    req.body = c["body"];
    Credentials creds{c["access_key_id"], c["secret_access_key"], c["session_token"], 0, "test"};
    SigningParams p;
    p.service = service;
    p.region = c["region"];
    p.epoch_seconds = c["epoch_seconds"];
    p.s3_rules = service == "s3";
    p.unsigned_payload = c["unsigned_payload"];
    SigningResult r;
    const bool presign = c["presign"];
    presigned += presign;
    if (presign) {
      ASSERT_TRUE(PresignRequest(req, creds, p, c["expires"], &r).ok());
    } else {
      // Header signing as AwsClient and the invokers do it: through a Signer (which decides
      // whether x-amz-content-sha256 is sent), at the case's time on a fake clock.
      FakeClock clock(p.epoch_seconds * 1000);
      Signer signer(StaticCredentials(creds), Signer::Config{service, p.region, p.s3_rules, &clock});
      Signer::Options so;
      so.unsigned_payload = p.unsigned_payload;
      ASSERT_TRUE(signer.Sign(req, creds, so, &r).ok());
    }
    bool ok = wire_path == want["wire_path"] && r.canonical_request == want["canonical_request"] &&
              r.string_to_sign == want["string_to_sign"] && r.signature == want["signature"];
    if (!presign) {
      ok = ok && HeaderValue(req.headers, "Authorization") ==
                     HeaderValue(ToHeaders(want["signed_headers"]), "Authorization");
    }
    if (ok) {
      ++agree;
      ++per_service[service];
    } else if (total - agree <= 5) {
      ADD_FAILURE() << "case " << c["id"] << " (" << service << (presign ? ", presigned" : "")
                    << ") differs from botocore\n--- ours:\n"
                    << r.canonical_request << "\n--- botocore:\n"
                    << want["canonical_request"].get<std::string>() << "\nours wire path "
                    << wire_path << " botocore " << want["wire_path"];
    }

    // Our verifier must accept the request exactly as botocore signed it.
    IncomingRequest in;
    in.method = c["method"];
    std::string host, path, q;
    std::string signed_url = want["signed_url"];
    ASSERT_TRUE(SplitUrl(signed_url, &host, &path, &q));
    in.raw_path = path;
    in.raw_query = presign ? q : query;
    in.headers = ToHeaders(want["signed_headers"]);
    in.headers.emplace_back("Host", host);
    std::string body = c["body"];
    in.body = body;
    KnownKey key{c["secret_access_key"], c["session_token"], 0};
    KeyLookup lookup = [&](const std::string& id) -> std::optional<KnownKey> {
      if (id == c["access_key_id"]) return key;
      return std::nullopt;
    };
    VerifyOptions vo;
    vo.s3_rules = p.s3_rules;
    vo.expected_service = service;
    VerifiedCaller caller;
    auto err = VerifySigV4(in, lookup, p.epoch_seconds + (presign ? 0 : 10), vo, &caller);
    if (!err) {
      ++verified;
      EXPECT_EQ(caller.access_key_id, c["access_key_id"]);
    } else {
      ADD_FAILURE() << "case " << c["id"]
                    << ": verifier rejected botocore's request: " << err->error_type << ": "
                    << err->message;
    }
    // Every 10th case: a wrong secret must be rejected as a signature mismatch.
    if (total % 10 == 0) {
      ++negatives;
      KnownKey bad = key;
      bad.secret_access_key[0] = bad.secret_access_key[0] == 'A' ? 'B' : 'A';
      auto e2 = VerifySigV4(
          in, [&](const std::string&) { return std::optional(bad); }, p.epoch_seconds, vo);
      if (e2 && e2->error_type == "InvalidSignatureException") ++rejected_bad;
    }
  }

  // curl --aws-sigv4: an implementation independent of botocore and of us.
  int curl_total = 0, curl_ok = 0;
  for (const json& c : data["curl"]) {
    ++curl_total;
    IncomingRequest in;
    in.method = c["method"];
    in.raw_path = c["raw_path"];
    in.raw_query = c["raw_query"];
    in.headers = ToHeaders(c["headers"]);
    std::string body = c["body"];
    in.body = body;
    int64_t now = 0;
    ASSERT_TRUE(ParseAmzDate(HeaderValue(in.headers, "X-Amz-Date"), &now));
    KnownKey key{c["secret_access_key"], "", 0};
    VerifyOptions vo;
    // curl 7.88 signs the path as sent (single encoding) for every service,
    // which is S3's rule; other services double-encode.
    vo.s3_rules = true;
    auto err = VerifySigV4(
        in, [&](const std::string&) { return std::optional(key); }, now, vo);
    if (!err) {
      ++curl_ok;
    } else {
      ADD_FAILURE() << "curl case " << c["id"] << " " << c["method"] << " " << c["raw_path"] << "?"
                    << c["raw_query"] << ": " << err->message;
    }
  }

  std::printf(
      "[sigv4 oracle] botocore %s: %d/%d requests agree (canonical request, string to sign, "
      "signature; %d presigned); s3 %d, lambda %d, iam %d, sts %d\n",
      data["botocore_version"].get<std::string>().c_str(), agree, total, presigned,
      per_service["s3"], per_service["lambda"], per_service["iam"], per_service["sts"]);
  std::printf(
      "[sigv4 oracle] verifier accepted %d/%d botocore-signed requests, rejected %d/%d "
      "with a wrong secret; accepted %d/%d curl --aws-sigv4 requests\n",
      verified, total, rejected_bad, negatives, curl_ok, curl_total);
  EXPECT_GE(total, 1000);
  EXPECT_EQ(agree, total);
  EXPECT_EQ(verified, total);
  EXPECT_EQ(rejected_bad, negatives);
  EXPECT_EQ(curl_ok, curl_total);
  EXPECT_GT(curl_total, 0);
}

}  // namespace
}  // namespace parallelagram::aws
