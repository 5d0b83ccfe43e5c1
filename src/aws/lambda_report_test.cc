#include "aws/lambda_report.h"

#include <gtest/gtest.h>

namespace parallelagram::aws {
namespace {

TEST(LambdaReportTest, ReadsAColdStartsReportAsLambdaWritesIt) {
  // The shape of a provided.al2023 function's log tail on a cold start.
  const char* log =
      "START RequestId: 8f5a Version: $LATEST\n"
      "hello from the task\n"
      "END RequestId: 8f5a\n"
      "REPORT RequestId: 8f5a\tDuration: 12.34 ms\tBilled Duration: 108 ms\tMemory Size: 1769 "
      "MB\tMax Memory Used: 41 MB\tInit Duration: 95.10 ms\t\n";
  auto r = ParseLambdaReport(log);
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->duration_ms, 12.34);
  EXPECT_EQ(r->billed_ms, 108);
  EXPECT_EQ(r->memory_size_mb, 1769);
  EXPECT_EQ(r->max_memory_used_mb, 41);
  EXPECT_DOUBLE_EQ(r->init_ms, 95.10);
}

TEST(LambdaReportTest, AWarmReportHasNoInitAndTheLastReportCounts) {
  const char* log =
      "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
      "Max Memory Used: 9 MB\t\n"
      "a task printed REPORT RequestId: x\tBilled Duration: 999999 ms\n"
      "REPORT RequestId: b\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 256 MB\t"
      "Max Memory Used: 10 MB\t";
  auto r = ParseLambdaReport(log);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->billed_ms, 3);
  EXPECT_EQ(r->memory_size_mb, 256);
  EXPECT_EQ(r->init_ms, 0);
}

TEST(LambdaReportTest, NoReportOrAReportWithoutBillingIsNone) {
  EXPECT_FALSE(ParseLambdaReport("").has_value());
  EXPECT_FALSE(ParseLambdaReport("START RequestId: a\nEND RequestId: a\n").has_value());
  EXPECT_FALSE(ParseLambdaReport("REPORT RequestId: a\tDuration: 1.00 ms\t\n").has_value());
  EXPECT_FALSE(
      ParseLambdaReport("REPORT RequestId: a\tBilled Duration: -3 ms\tMemory Size: 128 MB\n")
          .has_value());
}

}  // namespace
}  // namespace parallelagram::aws
