#include "cli/doctor_report.h"

#include <gtest/gtest.h>

namespace parallelagram::cli {
namespace {

DoctorFacts Healthy() {
  DoctorFacts f;
  f.jobs = 100;
  f.credentials_source = "environment variables";
  f.access_key_hint = MaskAccessKeyId("AKIAIOSFODNN7EXAMPLE");
  f.region = "eu-west-1";
  f.region_source = "AWS_REGION";
  f.endpoints = {{"s3", Status::Ok(), "https://s3.eu-west-1.amazonaws.com", "AWS public endpoint"},
                 {"lambda", Status::Ok(), "http://127.0.0.1:9001", "AWS_ENDPOINT_URL_LAMBDA"}};
  f.account = "123456789012";
  f.caller_arn = "arn:aws:iam::123456789012:user/u";
  f.concurrency_limit = 1000;
  f.unreserved_concurrency = 900;
  f.function_name = "pg";
  f.memory_mb = 1769;
  f.timeout_s = 900;
  f.architecture = "arm64";
  f.state = "Active";
  f.last_update_status = "Successful";
  f.role_arn = "arn:aws:iam::123456789012:role/pg";
  f.reserved_concurrency = 100;
  f.role_can_create_log_streams = false;
  return f;
}

bool Contains(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(DoctorReport, MasksAccessKeys) {
  EXPECT_EQ(MaskAccessKeyId("AKIAIOSFODNN7EXAMPLE"), "****MPLE");
  EXPECT_EQ(MaskAccessKeyId("short"), "****");
  EXPECT_EQ(MaskAccessKeyId(""), "");
}

TEST(DoctorReport, HealthySetupExitsZeroAndSaysWhereThingsCameFrom) {
  DoctorReport r = BuildDoctorReport(Healthy());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(r.warnings.empty());
  std::string out = r.Render();
  EXPECT_NE(out.find("credentials: environment variables (access key ****MPLE)"),
            std::string::npos);
  EXPECT_EQ(out.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_NE(out.find("region: eu-west-1 (from AWS_REGION)"), std::string::npos);
  EXPECT_NE(out.find("endpoint lambda: http://127.0.0.1:9001 (from AWS_ENDPOINT_URL_LAMBDA)"),
            std::string::npos);
  EXPECT_NE(out.find("concurrency limit 1000, unreserved 900"), std::string::npos);
  EXPECT_NE(out.find("1769 MB, timeout 900 s, arm64"), std::string::npos);
  EXPECT_NE(out.find("reserved concurrency 100"), std::string::npos);
  EXPECT_NE(out.find("ok: ready"), std::string::npos);
}

TEST(DoctorReport, WarnsAboutTheSeedsPitfalls) {
  DoctorFacts f = Healthy();
  f.reserved_concurrency.reset();
  f.jobs = 5000;
  f.no_logs = true;
  f.role_can_create_log_streams = true;
  DoctorReport r = BuildDoctorReport(f);
  EXPECT_EQ(r.exit_code, 0) << r.Render();
  EXPECT_EQ(r.warnings.size(), 3u) << r.Render();
  EXPECT_TRUE(Contains(r.warnings, "no reserved concurrency"));
  EXPECT_TRUE(Contains(r.warnings, "concurrency limit (1000) is far below -j 5000"));
  EXPECT_TRUE(Contains(r.warnings, "logs:CreateLogStream"));
  // Logs allowed but not refused by the user: no warning.
  f.no_logs = false;
  EXPECT_FALSE(Contains(BuildDoctorReport(f).warnings, "logs:CreateLogStream"));
}

TEST(DoctorReport, ProblemsFailWithOneLineEach) {
  DoctorFacts f = Healthy();
  f.credentials_status = Status::InvalidArgument("no credentials found");
  f.identity_status = Status::PermissionDenied("skipped");
  f.account_settings_status = Status::PermissionDenied("skipped");
  f.function_status = Status::NotFound("skipped");
  DoctorReport r = BuildDoctorReport(f);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.problems.size(), 1u) << r.Render();  // later steps depend on the first
  EXPECT_NE(r.problems[0].find("AWS_ACCESS_KEY_ID"), std::string::npos);

  f = Healthy();
  f.identity_status = Status::PermissionDenied(
      "sts GetCallerIdentity: SignatureDoesNotMatch: bad (HTTP 403, request id x); credentials "
      "from environment variables");
  f.account_settings_status = f.identity_status;
  f.function_status = f.identity_status;
  r = BuildDoctorReport(f);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.problems.size(), 1u) << r.Render();
  EXPECT_NE(r.problems[0].find("SignatureDoesNotMatch"), std::string::npos);

  f = Healthy();
  f.function_status = Status::NotFound("lambda GetFunction: ResourceNotFoundException: nope");
  r = BuildDoctorReport(f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.problems, "function 'pg'"));

  f = Healthy();
  f.state = "Failed";
  f.reserved_concurrency = 0;
  r = BuildDoctorReport(f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.problems.size(), 2u) << r.Render();
  for (const auto& p : r.problems) EXPECT_EQ(p.find('\n'), std::string::npos);
}

TEST(DoctorReport, ListsTheRecordedDeployments) {
  DoctorFacts f = Healthy();
  f.deployments_where = "/home/u/.config/parallelagram/deployments/";
  DoctorReport none = BuildDoctorReport(f);
  EXPECT_TRUE(Contains(none.lines, "deployments: none recorded in /home/u/.config"));
  f.deployments = {{"pg", "us-east-1", "b1", "parallelagram", "/x/pg.json"},
                   {"pg-big", "eu-west-1", "b2", "p", "/x/pg-big.json"}};
  DoctorReport two = BuildDoctorReport(f);
  EXPECT_TRUE(Contains(two.lines, "deployments: 2 recorded in"));
  EXPECT_TRUE(
      Contains(two.lines, "deployment pg: region us-east-1, data in s3://b1/parallelagram/"));
  EXPECT_TRUE(Contains(two.lines, "deployment pg-big: region eu-west-1, data in s3://b2/p/"));
  EXPECT_EQ(two.exit_code, 0);
  f.deployments_status = Status::InvalidArgument("/x/bad.json is not a parallelagram record");
  DoctorReport bad = BuildDoctorReport(f);
  EXPECT_TRUE(Contains(bad.warnings, "cannot read the deployment records: /x/bad.json"));
}

}  // namespace
}  // namespace parallelagram::cli
