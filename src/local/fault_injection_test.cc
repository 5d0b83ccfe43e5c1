// --inject: the spec grammar, the random policy, and each fault kind acting on the real
// service (sh + curl runtimes, as in local_lambda_test.cc).
#include "local/fault_injection.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "local/lambda_types.h"
#include "local/local_lambda_testing.h"

namespace parallelagram::local {
namespace {

using testing::Call;
using testing::kEchoRuntime;
using testing::ReadAll;
using testing::Resp;
using testing::WaitFor;
namespace http = boost::beast::http;
using json = nlohmann::json;

TEST(FaultSpecTest, ParsesKindsSeedAndLog) {
  auto s = FaultSpec::Parse("throttle=0.05,service-error=0.01,crash=0.02,hang=0.01,"
                            "slow-start=0.1,duplicate=0.5,seed=42,log=/tmp/x.jsonl");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_DOUBLE_EQ(s->probability.at(FaultKind::kThrottle), 0.05);
  EXPECT_DOUBLE_EQ(s->probability.at(FaultKind::kDuplicate), 0.5);
  EXPECT_EQ(s->probability.size(), 6u);
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->log_path, "/tmp/x.jsonl");
}

TEST(FaultSpecTest, BadValuesAreOneLineErrors) {
  for (const char* bad : {"", "throttle", "throttle=", "=0.1", "boom=0.1", "crash=1.5",
                          "crash=-0.1", "crash=x", "crash=0.6,hang=0.6", "crash=0.1,crash=0.2",
                          "seed=abc", "seed=-3", "crash=0.1,,hang=0.1"}) {
    auto s = FaultSpec::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message().find('\n'), std::string::npos);
    EXPECT_NE(s.status().message().find("--inject"), std::string::npos) << bad;
  }
}

TEST(RandomFaultPolicyTest, DrawsAtTheGivenRatesAndIsReproducible) {
  auto spec = FaultSpec::Parse("throttle=0.2,crash=0.1,duplicate=0.3,seed=9");
  ASSERT_TRUE(spec.ok());
  auto a = RandomFaultPolicy::Create(*spec);
  auto b = RandomFaultPolicy::Create(*spec);
  ASSERT_TRUE(a.ok() && b.ok());
  std::map<FaultKind, int> sync, event;
  for (int i = 0; i < 20000; ++i) {
    FaultKind k = (*a)->OnInvoke("f", i % 2 ? "Event" : "RequestResponse");
    EXPECT_EQ(k, (*b)->OnInvoke("f", i % 2 ? "Event" : "RequestResponse"));
    (i % 2 ? event : sync)[k]++;
  }
  EXPECT_NEAR(sync[FaultKind::kThrottle], 2000, 200);
  EXPECT_NEAR(sync[FaultKind::kCrash], 1000, 150);
  EXPECT_EQ(sync[FaultKind::kDuplicate], 0);  // only Event invocations are duplicated
  EXPECT_NEAR(event[FaultKind::kDuplicate], 3000, 250);
}

// Injects `kind` into the next `count` Invoke requests.
class FixedFaults : public FaultPolicy {
 public:
  FaultKind OnInvoke(std::string_view, std::string_view) override {
    if (count <= 0) return FaultKind::kNone;
    --count;
    return kind;
  }
  void Injected(FaultKind k, const std::string& rid, const std::string&) override {
    injected.emplace_back(k, rid);
  }
  FaultKind kind = FaultKind::kNone;
  int count = 0;
  std::vector<std::pair<FaultKind, std::string>> injected;
};

class FaultInjectionTest : public testing::LocalLambdaTest {
 protected:
  void Customize(LocalLambdaOptions& o) override { o.faults = faults_; }
  void Inject(FaultKind k, int n = 1) {
    faults_->kind = k;
    faults_->count = n;
  }
  std::shared_ptr<FixedFaults> faults_ = std::make_shared<FixedFaults>();
};

int64_t MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t)
      .count();
}

TEST_F(FaultInjectionTest, ThrottleIsAwsTooManyRequests) {
  ASSERT_EQ(Create("f", kEchoRuntime).status, 201);
  Inject(FaultKind::kThrottle);
  Resp r = Invoke("f", R"({"task_id":"j/1"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.H("x-amzn-ErrorType"), "TooManyRequestsException");
  EXPECT_EQ(r.H("Retry-After"), "1");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"Reason":"ConcurrentInvocationLimitExceeded",
                                                  "Type":"User","message":"Rate Exceeded."})"));
  ASSERT_EQ(faults_->injected.size(), 1u);
  EXPECT_EQ(faults_->injected[0].second, r.H("x-amzn-RequestId"));
  EXPECT_EQ(Invoke("f", R"({"task_id":"j/1"})").body, R"({"task_id":"j/1"})");  // then served
}

TEST_F(FaultInjectionTest, ServiceErrorIs500ServiceException) {
  ASSERT_EQ(Create("f", kEchoRuntime).status, 201);
  Inject(FaultKind::kServiceError);
  Resp r = Invoke("f", "{}");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.H("x-amzn-ErrorType"), "ServiceException");
  json j = json::parse(r.body);
  EXPECT_EQ(j["Type"], "Service");
  EXPECT_TRUE(j.contains("Message"));  // capitalised, as AWS's model declares
}

TEST_F(FaultInjectionTest, CrashKillsTheWorkerMidTask) {
  ASSERT_EQ(Create("f", kEchoRuntime, 10).status, 201);
  for (const char* cmd : {"\"cmd:sleep 2; echo late\"", "\"cmd:echo quick\""}) {
    Inject(FaultKind::kCrash);
    auto t0 = std::chrono::steady_clock::now();
    Resp r = Invoke("f", cmd, {{"X-Amz-Log-Type", "Tail"}});
    EXPECT_LT(MsSince(t0), 1500) << cmd;  // killed, not waited for
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
    json j = json::parse(r.body);
    EXPECT_EQ(j["errorType"], "Runtime.ExitError") << r.body;
    EXPECT_NE(j["errorMessage"].get<std::string>().find("signal: killed"), std::string::npos);
    auto log = Base64Decode(r.H("X-Amz-Log-Result"));
    ASSERT_TRUE(log);
    EXPECT_NE(log->find("Runtime.ExitError"), std::string::npos) << *log;
  }
  EXPECT_EQ(Invoke("f", "\"cmd:echo again\"").body, "\"again\"");  // a new environment serves
}

TEST_F(FaultInjectionTest, HangEndsAtTheFunctionTimeout) {
  ASSERT_EQ(Create("f", kEchoRuntime, 1).status, 201);
  Inject(FaultKind::kHang);
  auto t0 = std::chrono::steady_clock::now();
  Resp r = Invoke("f", "\"cmd:echo hi\"");
  EXPECT_GE(MsSince(t0), 950);
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  json j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Sandbox.Timedout");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("Task timed out after"), std::string::npos);
  EXPECT_EQ(Invoke("f", "\"cmd:echo hi\"").body, "\"hi\"");
}

TEST_F(FaultInjectionTest, SlowStartDelaysAFreshEnvironment) {
  ASSERT_EQ(Create("f", kEchoRuntime, 10).status, 201);
  EXPECT_EQ(Invoke("f", "\"cmd:echo warm\"").body, "\"warm\"");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Invoke("f", "\"cmd:echo warm\"").body, "\"warm\"");
  int64_t warm_ms = MsSince(t0);
  Inject(FaultKind::kSlowStart);
  t0 = std::chrono::steady_clock::now();
  Resp r = Invoke("f", "\"cmd:echo cold\"", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(r.body, "\"cold\"");
  EXPECT_GE(MsSince(t0), 1000);  // FixedFaults::RandomMs gives the low end: 1 s
  EXPECT_LT(warm_ms, 1000);
  auto log = Base64Decode(r.H("X-Amz-Log-Result"));
  ASSERT_TRUE(log);
  EXPECT_NE(log->find("Init Duration: 1"), std::string::npos) << *log;  // >= 1000 ms
}

TEST_F(FaultInjectionTest, DuplicateDeliversAnEventTwice) {
  ASSERT_EQ(Create("f", kEchoRuntime).status, 201);
  std::string marker = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  // A sync invocation is never duplicated.
  Inject(FaultKind::kDuplicate);
  EXPECT_EQ(Invoke("f", "\"cmd:echo S >> " + marker + "\"").status, 200);
  EXPECT_EQ(ReadAll(marker), "S\n");
  Inject(FaultKind::kDuplicate);
  Resp r = Invoke("f", "\"cmd:echo E >> " + marker + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(WaitFor([&] { return ReadAll(marker) == "S\nE\nE\n"; })) << ReadAll(marker);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ReadAll(marker), "S\nE\nE\n");  // twice, not more
  std::filesystem::remove(marker);
}

TEST_F(FaultInjectionTest, RandomPolicyLogsWhatItInjected) {
  std::string log = (std::filesystem::temp_directory_path() / (NewRequestId() + ".jsonl")).string();
  auto spec = FaultSpec::Parse("throttle=1,seed=3,log=" + log);
  ASSERT_TRUE(spec.ok());
  auto p = RandomFaultPolicy::Create(*spec);
  ASSERT_TRUE(p.ok());
  (*p)->Injected(FaultKind::kThrottle, "rid-1", R"({"task_id":"job/7","argv":["x"]})");
  (*p)->Injected(FaultKind::kCrash, "rid-2", "not json");
  EXPECT_EQ(ReadAll(log), "{\"kind\":\"throttle\",\"request_id\":\"rid-1\",\"task_id\":\"job/7\"}\n"
                          "{\"kind\":\"crash\",\"request_id\":\"rid-2\"}\n");
  std::filesystem::remove(log);
  auto bad = FaultSpec::Parse("crash=0.1,log=/nonexistent-dir/x");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(RandomFaultPolicy::Create(*bad).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace parallelagram::local
