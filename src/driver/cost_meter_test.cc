#include "driver/cost_meter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "driver/prices.h"

namespace parallelagram::driver {
namespace {

TaskRecord Answer(Outcome o, int64_t billed_ms, int64_t memory_mb, bool estimate = false) {
  TaskRecord r;
  r.result.outcome = o;
  r.result.billed_ms = billed_ms;
  r.result.memory_mb = memory_mb;
  r.result.billing_estimate = estimate;
  r.runtime_ms = 777;
  return r;
}

TEST(PricesTest, TheBuiltInTableIsLambdasUsEast1Price) {
  PriceTable p;
  FunctionPricing f{p, "x86_64", 1024, 512};
  // 1 GB for 1 s: one GB-second plus one request.
  EXPECT_NEAR(f.InvocationUsd(1000), 0.0000166667 + 0.0000002, 1e-15);
  FunctionPricing arm{p, "arm64", 2048, 512};
  EXPECT_NEAR(arm.InvocationUsd(500), 0.0000133334 + 0.0000002, 1e-15);
  // /tmp beyond 512 MB: 10,240 MB for 1 s at 128 MB.
  FunctionPricing big{p, "x86_64", 128, 10240};
  EXPECT_NEAR(big.InvocationUsd(1000),
              0.0000166667 / 8 + 0.0000002 + (10240.0 - 512) / 1024 * 0.0000000309, 1e-15);
  EXPECT_NE(DescribePrices(p).find("us-east-1 (built-in, taken "), std::string::npos);
}

TEST(PricesTest, AFileOverridesWhatItNamesAndRefusesWhatItCannotMean) {
  const std::string path = ::testing::TempDir() + "/pg_prices_test_" + std::to_string(::getpid()) + ".json";
  auto write = [&](const std::string& text) { std::ofstream(path, std::ios::binary) << text; };
  write(
      R"({"region": "eu-central-1", "lambda_gb_second": {"arm64": 0.00001}, "lambda_request": 0})");
  auto p = LoadPriceFile(path);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->region, "eu-central-1");
  EXPECT_EQ(p->source, path);
  EXPECT_DOUBLE_EQ(p->gb_second_arm64, 0.00001);
  EXPECT_DOUBLE_EQ(p->gb_second_x86_64, PriceTable{}.gb_second_x86_64);  // kept
  EXPECT_DOUBLE_EQ(p->request, 0);
  for (const char* bad : {"{", "[]", R"({"lambda_request": -1})", R"({"lambda_request": "1"})",
                          R"({"lamda_request": 1})", R"({"lambda_gb_second": {"mips": 1}})"}) {
    write(bad);
    auto r = LoadPriceFile(path);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  }
  std::remove(path.c_str());
  EXPECT_FALSE(LoadPriceFile(path).ok());
}

TEST(CostMeterTest, ChargesWhatWasBilledAndNothingForThrottlesOrTransport) {
  CostMeter m(FunctionPricing{PriceTable{}, "x86_64", 1024, 512}, 0, 10000);
  Charge c = m.Add(Answer(Outcome::kSucceeded, 2000, 512));
  EXPECT_TRUE(c.billed);
  EXPECT_NEAR(c.usd, 2 * 0.5 * 0.0000166667 + 0.0000002, 1e-15);
  EXPECT_FALSE(m.Add(Answer(Outcome::kThrottled, 0, 0)).billed);
  EXPECT_FALSE(m.Add(Answer(Outcome::kTransport, 0, 0)).billed);
  // A crash with no billing at all: the driver's wall time, at the function's memory.
  Charge est = m.Add(Answer(Outcome::kCrashed, 0, 0));
  EXPECT_TRUE(est.estimate);
  EXPECT_EQ(est.billed_ms, 777);
  EXPECT_EQ(est.memory_mb, 1024);
  EXPECT_NEAR(m.spent(), c.usd + est.usd, 1e-15);
  EXPECT_EQ(m.invocations_billed(), 2);
  EXPECT_TRUE(m.estimated());
}

TEST(CostMeterTest, TheBudgetCountsEveryInvocationInFlightAtItsWorstCase) {
  const FunctionPricing f{PriceTable{}, "x86_64", 1024, 512};
  const double worst = f.InvocationUsd(10000);
  // Room for exactly three worst cases.
  CostMeter m(f, 3 * worst, 10000);
  EXPECT_TRUE(m.MayStart(0));
  EXPECT_TRUE(m.MayStart(2));
  EXPECT_FALSE(m.MayStart(3));
  m.Add(Answer(Outcome::kSucceeded, 5000, 1024));  // half a worst case, less a request
  EXPECT_TRUE(m.MayStart(1));
  EXPECT_FALSE(m.MayStart(2));
  CostMeter none(f, 0, 10000);
  EXPECT_TRUE(none.MayStart(1000000));
}

TEST(CostMeterTest, S3RequestsCountTheWorkersForItsTaskAndTheDriversForTheJobAndBudget) {
  const FunctionPricing f{PriceTable{}, "x86_64", 1024, 512};
  CostMeter m(f, 0, 10000);
  TaskRecord a = Answer(Outcome::kSucceeded, 1000, 1024);
  a.result.s3_put_requests = 3;
  a.result.s3_get_requests = 10;
  Charge c = m.Add(a);
  EXPECT_NEAR(c.usd, f.InvocationUsd(1000) + 3 * 0.000005 + 10 * 0.0000004, 1e-15);
  // The driver's requests: the job's spending, replaced (not added) by each new figure.
  m.SetDriverRequests({1000, 2000});
  m.SetDriverRequests({2000, 5000});
  EXPECT_NEAR(m.driver_s3_usd(), 2000 * 0.000005 + 5000 * 0.0000004, 1e-12);
  EXPECT_NEAR(m.spent(), c.usd + m.driver_s3_usd(), 1e-12);
  // ... and they count against a budget.
  const double worst = f.InvocationUsd(10000);
  CostMeter b(f, worst + 0.001, 10000);
  EXPECT_TRUE(b.MayStart(0));
  b.SetDriverRequests({300, 0});  // $0.0015
  EXPECT_FALSE(b.MayStart(0));
}

}  // namespace
}  // namespace parallelagram::driver
