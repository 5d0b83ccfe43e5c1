// The invokers learn clock skew from their own answers: against the local Lambda service with
// signatures enforced (5-minute window, AWS's "Signature expired" 403), a signer whose clock
// is 20 minutes slow still gets its invokes through, sync and Event, on one re-signed retry,
// and the correction it learnt is shared (later invokes need no retry). Other 403s are not
// retried.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "aws/signer.h"
#include "common/base64.h"
#include "common/time_parse.h"
#include "driver/async_invoker.h"
#include "driver/io_loop_driver.h"
#include "driver/lambda_invoker.h"
#include "driver/result_inbox.h"
#include "driver/testing.h"
#include "http/http1_client.h"
#include "http/http_client.h"
#include "local/local_lambda.h"
#include "os/zip_util.h"

namespace parallelagram::driver {
namespace {

constexpr const char* kKeyId = "AKIDSKEWTEST";
constexpr const char* kSecret = "skew-test-secret";
constexpr int64_t kSlowMs = 20 * 60 * 1000;

// The system clock, `offset_ms` off.
class OffsetClock : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowEpochMs() const override { return SystemClock::Get().NowEpochMs() + offset_ms_; }
  int64_t NowMonoUs() const override { return SystemClock::Get().NowMonoUs(); }

 private:
  int64_t offset_ms_;
};

// Forwards to a real client and counts the requests and their answers' statuses.
class CountingHttp : public HttpClient {
 public:
  explicit CountingHttp(HttpClient& real) : real_(real) {}
  void Send(HttpRequest request, std::function<void(Result<HttpResponse>)> done) override {
    ++sent;
    real_.Send(std::move(request), [this, done = std::move(done)](Result<HttpResponse> r) {
      if (r.ok() && r->status == 403) ++forbidden;
      done(std::move(r));
    });
  }
  int sent = 0;
  int forbidden = 0;

 private:
  HttpClient& real_;
};

// A runtime in sh + curl that answers every invocation with a succeeded TaskResult.
std::string AnsweringRuntime() {
  TaskResult r = testing::Exited(0, "ran\n");
  return "#!/bin/sh\napi=\"http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime\"\n"
         "while true; do\n"
         "  hdr=$(mktemp)\n"
         "  curl -sS -D \"$hdr\" -o /dev/null \"$api/invocation/next\" || exit 3\n"
         "  id=$(grep -i '^lambda-runtime-aws-request-id:' \"$hdr\" | tr -d '\\r' | cut -d' ' "
         "-f2)\n"
         "  rm -f \"$hdr\"\n"
         "  curl -sS -o /dev/null -X POST --data-binary '" +
         TaskResultToJson(r).dump() +
         "' \"$api/invocation/$id/response\"\n"
         "done\n";
}

class InvokerSkewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local::LocalLambdaOptions o;
    o.concurrency = 2;
    o.min_unreserved_concurrency = 0;
    o.access_key_id = kKeyId;
    o.secret_access_key = kSecret;
    auto s = local::LocalLambda::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ll_ = std::move(s).value();
    // CreateFunction, signed with a correct clock.
    auto zip = os::MakeZip({{"bootstrap", AnsweringRuntime(), 0755}});
    ASSERT_TRUE(zip.ok());
    nlohmann::json body = {{"FunctionName", "skew"},
                           {"Runtime", "provided.al2023"},
                           {"Role", "arn:aws:iam::123456789012:role/r"},
                           {"Handler", "h"},
                           {"Timeout", 30},
                           {"Code", {{"ZipFile", Base64Encode(*zip)}}}};
    HttpRequest req;
    req.method = "POST";
    req.url = ll_->endpoint() + "/2015-03-31/functions";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = body.dump();
    req.timeout_ms = 30000;
    ASSERT_TRUE(MakeSigner(0)->Sign(req).ok());
    auto resp = SendAndWait(loop_, curl_, std::move(req));
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_EQ(resp->status, 201) << resp->body;
  }

  std::shared_ptr<aws::Signer> MakeSigner(int64_t offset_ms, std::string secret = kSecret) {
    clocks_.push_back(std::make_unique<OffsetClock>(offset_ms));
    aws::Credentials c;
    c.access_key_id = kKeyId;
    c.secret_access_key = std::move(secret);
    aws::Signer::Config sc;
    sc.service = "lambda";
    sc.region = "us-east-1";
    sc.clock = clocks_.back().get();
    return std::make_shared<aws::Signer>(aws::StaticCredentials(c), sc);
  }

  LambdaInvoker::Options Options(std::shared_ptr<aws::Signer> signer) {
    LambdaInvoker::Options io;
    io.endpoint = ll_->endpoint();
    io.function_name = "skew";
    io.function_timeout_s = 30;
    io.SignWith(std::move(signer));
    return io;
  }

  // One sync invoke through `inv`; its result.
  TaskResult InvokeOnce(Invoker& inv, const std::string& id) {
    TaskEvent e;
    e.task_id = id;
    e.argv = {"true"};
    TaskResult out;
    bool got = false;
    inv.Invoke(e, [&](TaskResult r) {
      out = std::move(r);
      got = true;
      loop_.Stop();
    });
    loop_.Run();
    EXPECT_TRUE(got);
    return out;
  }

  IoLoop loop_;
  CurlHttpClient curl_{loop_};  // CreateFunction
  // The invokes go through the backends' invoke-path client.
  std::unique_ptr<HttpClient> invoke_http_ = MakeInvokeHttpClient(loop_, 8);
  std::vector<std::unique_ptr<OffsetClock>> clocks_;
  std::unique_ptr<local::LocalLambda> ll_;
};

TEST_F(InvokerSkewTest, ASlowClockIsCorrectedFromTheAnswerAndTheInvokeRetriedOnce) {
  auto signer = MakeSigner(-kSlowMs);
  CountingHttp http(*invoke_http_);
  LambdaInvoker inv(http, Options(signer));

  TaskResult r = InvokeOnce(inv, "job/1");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(r.stdout_data, "ran\n");
  EXPECT_EQ(http.sent, 2) << "one refused invoke, one re-signed retry";
  EXPECT_EQ(http.forbidden, 1);
  // The correction came from the service's Date header: within a few seconds of 20 min.
  EXPECT_NEAR(static_cast<double>(signer->clock_skew_ms()), static_cast<double>(kSlowMs), 3000);

  // The signer is shared: later invokes are signed right the first time.
  r = InvokeOnce(inv, "job/2");
  EXPECT_EQ(r.outcome, Outcome::kSucceeded) << r.error;
  EXPECT_EQ(http.sent, 3);
  EXPECT_EQ(http.forbidden, 1);
}

TEST_F(InvokerSkewTest, WithoutTheCorrectionTheServiceRefusesTheSlowClock) {
  // The same setup with only `sign` (no clock_skewed): the 403 is the task's answer. This is
  // what the invokers did before they learnt skew, and shows the service enforces the window.
  auto signer = MakeSigner(-kSlowMs);
  LambdaInvoker::Options io = Options(signer);
  io.clock_skewed = nullptr;
  CountingHttp http(*invoke_http_);
  LambdaInvoker inv(http, io);
  TaskResult r = InvokeOnce(inv, "job/1");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("Signature expired"), std::string::npos) << r.error;
  EXPECT_EQ(http.sent, 1);
  EXPECT_EQ(signer->clock_skew_ms(), 0);
}

TEST_F(InvokerSkewTest, AnotherSignatureErrorIsNotRetried) {
  auto signer = MakeSigner(0, "the-wrong-secret");
  CountingHttp http(*invoke_http_);
  LambdaInvoker inv(http, Options(signer));
  TaskResult r = InvokeOnce(inv, "job/1");
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_NE(r.error.find("InvalidSignatureException"), std::string::npos) << r.error;
  EXPECT_EQ(http.sent, 1);
  EXPECT_EQ(signer->clock_skew_ms(), 0);
}

TEST_F(InvokerSkewTest, TheAsyncInvokerLearnsItToo) {
  auto signer = MakeSigner(-kSlowMs);
  CountingHttp http(*invoke_http_);
  IoLoopDriver timers(loop_);
  std::string dir = ::testing::TempDir() + "pg_skew_inbox_" + std::to_string(::getpid());
  DirectoryResultInbox inbox(dir, timers);
  AsyncInvoker::Options eo;
  eo.invoke = Options(signer);
  eo.poll_interval_ms = 3600000;  // no result is written here: only the invoke is looked at
  AsyncInvoker inv(http, timers, SystemClock::Get(), inbox, eo);
  TaskEvent e;
  e.task_id = "job/1";
  e.argv = {"true"};
  std::optional<TaskResult> refused;
  inv.Invoke(e, [&](TaskResult r) {
    refused = std::move(r);
    loop_.Stop();
  });
  // Accepted (202: pending) or refused (done called), whichever comes first.
  std::function<void()> check = [&] {
    if (inv.pending() > 0) {
      loop_.Stop();
      return;
    }
    loop_.AddTimer(10, check);
  };
  loop_.AddTimer(10, check);
  loop_.Run();
  EXPECT_FALSE(refused) << refused->error;
  EXPECT_EQ(inv.pending(), 1u);
  EXPECT_EQ(http.sent, 2);
  EXPECT_NEAR(static_cast<double>(signer->clock_skew_ms()), static_cast<double>(kSlowMs), 3000);
}

TEST(LocalLambdaDate, EveryAnswerCarriesAParseableDate) {
  local::LocalLambdaOptions o;
  auto ll = local::LocalLambda::Start(o);
  ASSERT_TRUE(ll.ok());
  IoLoop loop;
  CurlHttpClient http(loop);
  HttpRequest req;
  req.url = (*ll)->endpoint() + "/2015-03-31/functions/missing";
  req.timeout_ms = 10000;
  auto resp = SendAndWait(loop, http, std::move(req));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 404);
  int64_t server_ms = 0;
  ASSERT_TRUE(ParseHttpDate(resp->Header("date"), &server_ms)) << resp->Header("date");
  EXPECT_NEAR(static_cast<double>(server_ms), static_cast<double>(SystemClock::Get().NowEpochMs()),
              5000);
}

}  // namespace
}  // namespace parallelagram::driver
