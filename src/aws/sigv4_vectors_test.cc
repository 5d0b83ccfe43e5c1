// Runs AWS's official SigV4 test suite (shared/aws-sigv4-test-suite/v4): for
// each case, header and query signing must reproduce the canonical request,
// the string to sign and the signature byte for byte.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aws/sigv4.h"

namespace parallelagram::aws {
namespace {

namespace fs = std::filesystem;

fs::path SharedDir() {
  if (const char* d = std::getenv("PG_SHARED_DIR"); d && *d) return d;
  return fs::path(PG_SOURCE_DIR) / ".." / "shared";
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct VectorRequest {
  std::string method, path;
  HttpHeaders headers;
  std::string body;
};

// request.txt: "METHOD PATH HTTP/1.1", header lines "Name:value" (a line that
// starts with whitespace continues the previous value), blank line, body.
VectorRequest ParseRequest(const std::string& text) {
  VectorRequest r;
  std::vector<std::string> lines;
  size_t pos = 0;
  size_t body_at = std::string::npos;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() && !lines.empty()) {
      body_at = nl + 1;
      break;
    }
    lines.push_back(line);
    pos = nl + 1;
  }
  if (body_at != std::string::npos && body_at < text.size()) r.body = text.substr(body_at);
  const std::string& first = lines.at(0);
  size_t sp = first.find(' ');
  size_t last = first.rfind(" HTTP/");
  r.method = first.substr(0, sp);
  r.path = first.substr(sp + 1, last - sp - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (!l.empty() && (l[0] == ' ' || l[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + l;
      continue;
    }
    size_t colon = l.find(':');
    r.headers.emplace_back(l.substr(0, colon), l.substr(colon + 1));
  }
  return r;
}

int64_t ParseIsoTimestamp(const std::string& ts) {  // "2015-08-30T12:36:00Z"
  std::string compact = ts.substr(0, 4) + ts.substr(5, 2) + ts.substr(8, 2) + "T" +
                        ts.substr(11, 2) + ts.substr(14, 2) + ts.substr(17, 2) + "Z";
  int64_t t = 0;
  EXPECT_TRUE(ParseAmzDate(compact, &t)) << ts;
  return t;
}

TEST(SigV4Vectors, AllCasesMatch) {
  fs::path dir = SharedDir() / "aws-sigv4-test-suite" / "v4";
  ASSERT_TRUE(fs::is_directory(dir)) << "missing " << dir << " (set PG_SHARED_DIR)";
  int cases = 0, header_ok = 0, query_ok = 0, query_cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_directory()) continue;
    const fs::path c = entry.path();
    const std::string name = c.filename().string();
    SCOPED_TRACE(name);
    ++cases;
    auto ctx = nlohmann::json::parse(ReadFile(c / "context.json"));
    Credentials creds;
    creds.access_key_id = ctx["credentials"]["access_key_id"];
    creds.secret_access_key = ctx["credentials"]["secret_access_key"];
    creds.session_token = ctx["credentials"].value("token", "");
    SigningParams p;
    p.service = ctx["service"];
    p.region = ctx["region"];
    p.epoch_seconds = ParseIsoTimestamp(ctx["timestamp"]);
    p.normalize_path = ctx["normalize"];
    p.sign_content_sha256 = ctx["sign_body"];
    p.sign_session_token = !ctx.value("omit_session_token", false);
    VectorRequest vr = ParseRequest(ReadFile(c / "request.txt"));
    HttpRequest req;
    req.method = vr.method;
    req.url = "https://example.amazonaws.com" + vr.path;
    req.headers = vr.headers;
    req.body = vr.body;

    HttpRequest signed_req = req;
    SigningResult r;
    ASSERT_TRUE(SignRequest(signed_req, creds, p, &r).ok());
    bool ok = r.canonical_request == ReadFile(c / "header-canonical-request.txt") &&
              r.string_to_sign == ReadFile(c / "header-string-to-sign.txt") &&
              r.signature == ReadFile(c / "header-signature.txt");
    EXPECT_EQ(r.canonical_request, ReadFile(c / "header-canonical-request.txt"));
    EXPECT_EQ(r.string_to_sign, ReadFile(c / "header-string-to-sign.txt"));
    EXPECT_EQ(r.signature, ReadFile(c / "header-signature.txt"));
    // The Authorization header written must be the one in the signed request.
    std::string expected_signed = ReadFile(c / "header-signed-request.txt");
    std::string auth;
    for (const auto& [k, v] : signed_req.headers) {
      if (k == "Authorization") auth = v;
    }
    EXPECT_NE(expected_signed.find("Authorization:" + auth + "\n"), std::string::npos) << auth;
    header_ok += ok;

    if (fs::exists(c / "query-canonical-request.txt")) {
      ++query_cases;
      HttpRequest q = req;
      SigningParams qp = p;
      qp.sign_content_sha256 = false;
      SigningResult qr;
      ASSERT_TRUE(PresignRequest(q, creds, qp, ctx["expiration_in_seconds"], &qr).ok());
      bool qok = qr.canonical_request == ReadFile(c / "query-canonical-request.txt") &&
                 qr.string_to_sign == ReadFile(c / "query-string-to-sign.txt") &&
                 qr.signature == ReadFile(c / "query-signature.txt");
      EXPECT_EQ(qr.canonical_request, ReadFile(c / "query-canonical-request.txt"));
      EXPECT_EQ(qr.string_to_sign, ReadFile(c / "query-string-to-sign.txt"));
      EXPECT_EQ(qr.signature, ReadFile(c / "query-signature.txt"));
      EXPECT_NE(q.url.find("&X-Amz-Signature=" + qr.signature), std::string::npos) << q.url;
      query_ok += qok;
    }
  }
  EXPECT_EQ(cases, 38);
  std::printf("[sigv4 vectors] %d cases: header form %d/%d match, query form %d/%d match\n", cases,
              header_ok, cases, query_ok, query_cases);
}

}  // namespace
}  // namespace parallelagram::aws
