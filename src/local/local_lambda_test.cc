// Tests of the local Lambda service with small shell-script runtimes (curl speaking the
// Runtime API). AWS's own clients and runtime client are exercised in tests/e2e and
// tests/node; these cover the service's mechanics under the sanitizers.
#include "local/local_lambda.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "common/base64.h"
#include "local/lambda_types.h"
#include "local/local_lambda_testing.h"
#include "os/zip_util.h"

namespace parallelagram::local {
namespace {

using testing::Call;
using testing::kEchoRuntime;
using testing::LocalLambdaTest;
using testing::ReadAll;
using testing::Resp;
using testing::WaitFor;
namespace http = boost::beast::http;
using json = nlohmann::json;

TEST(LambdaTypes, ParseFunctionName) {
  std::string q;
  EXPECT_EQ(ParseFunctionName("f", &q).value_or(""), "f");
  EXPECT_EQ(ParseFunctionName("f:$LATEST", &q).value_or(""), "f");
  EXPECT_EQ(q, "$LATEST");
  EXPECT_EQ(
      ParseFunctionName("arn:aws:lambda:us-east-1:123456789012:function:my-fn", &q).value_or(""),
      "my-fn");
  EXPECT_EQ(ParseFunctionName("123456789012:function:x_y", &q).value_or(""), "x_y");
  EXPECT_FALSE(ParseFunctionName("bad name", &q));
  EXPECT_FALSE(ParseFunctionName("", &q));
}

TEST_F(LocalLambdaTest, CreateInvokeReuseAndTail) {
  Resp c = Create("echo", kEchoRuntime);
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(json::parse(c.body)["State"], "Active");
  Resp r = Invoke("echo", R"({"a":1})", {{"X-Amz-Log-Type", "Tail"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"a":1})"));
  EXPECT_EQ(r.H("X-Amz-Executed-Version"), "$LATEST");
  EXPECT_FALSE(r.H("x-amzn-RequestId").empty());
  auto log = Base64Decode(r.H("X-Amz-Log-Result"));
  ASSERT_TRUE(log);
  EXPECT_NE(log->find("START RequestId: " + r.H("x-amzn-RequestId")), std::string::npos) << *log;
  EXPECT_NE(log->find("event for " + r.H("x-amzn-RequestId")), std::string::npos) << *log;
  EXPECT_NE(log->find("REPORT RequestId:"), std::string::npos);
  // Warm reuse: TMPDIR is per environment, so the same value means the same environment.
  Resp r2 = Invoke("echo", R"("cmd:echo $TMPDIR")");
  Resp r3 = Invoke("echo", R"("cmd:echo $TMPDIR")");
  EXPECT_EQ(r2.body, r3.body);
  EXPECT_NE(r2.body.find("/envs/"), std::string::npos) << r2.body;
  // Environment variables Lambda sets.
  Resp e = Invoke(
      "echo",
      R"("cmd:echo $AWS_LAMBDA_FUNCTION_NAME/$AWS_REGION/$_HANDLER/$AWS_LAMBDA_FUNCTION_MEMORY_SIZE")");
  EXPECT_EQ(json::parse(e.body), "echo/us-east-1/h/128");
}

TEST_F(LocalLambdaTest, ReportBillsTheInitPhaseAndTheEnvironmentsMemory) {
  ASSERT_EQ(Create("rep", kEchoRuntime).status, 201);
  auto report = [&](const Resp& r) {
    auto log = Base64Decode(r.H("X-Amz-Log-Result"));
    std::string line = log ? log->substr(log->find("REPORT RequestId:")) : "";
    auto num = [&](const std::string& field) {
      size_t at = line.find(field + ": ");
      return at == std::string::npos ? -1.0 : std::stod(line.substr(at + field.size() + 2));
    };
    return std::make_tuple(num("Duration"), num("Billed Duration"), num("Init Duration"),
                           num("Max Memory Used"), line);
  };
  // Cold: billed = duration + init, rounded up to the millisecond (a custom runtime).
  auto [d, billed, init, mem, line] = report(Invoke("rep", "1", {{"X-Amz-Log-Type", "Tail"}}));
  ASSERT_GT(init, 0) << line;
  EXPECT_EQ(billed, std::ceil(d + init)) << line;
  EXPECT_GT(mem, 0) << line;  // a short invocation still shows the environment's memory
  // Warm: no init phase, the duration alone.
  auto [d2, billed2, init2, mem2, line2] = report(Invoke("rep", "2", {{"X-Amz-Log-Type", "Tail"}}));
  EXPECT_EQ(init2, -1) << line2;
  EXPECT_EQ(billed2, std::ceil(d2)) << line2;
  EXPECT_GE(mem2, mem) << line2;  // the environment's peak so far
}

TEST_F(LocalLambdaTest, ErrorsHaveAwsShapes) {
  Resp nf = Invoke("nope", "{}");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.H("x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(json::parse(nf.body)["Message"],
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
  ASSERT_EQ(Create("echo", kEchoRuntime).status, 201);
  EXPECT_EQ(Create("echo", kEchoRuntime).status, 409);
  Resp bad = Invoke("echo", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.H("x-amzn-ErrorType"), "InvalidRequestContentException");
  Resp big = Invoke("echo", "\"" + std::string(6291456, 'x') + "\"");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.H("x-amzn-ErrorType"), "RequestTooLargeException");
  Resp bigev =
      Invoke("echo", "\"" + std::string(1048576, 'x') + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(bigev.status, 413);
  Resp fe = Invoke("echo", R"("fail")");
  EXPECT_EQ(fe.status, 200);
  EXPECT_EQ(fe.H("X-Amz-Function-Error"), "Unhandled");
  EXPECT_EQ(json::parse(fe.body)["errorType"], "Custom.Fail");
  // Not a zip; a zip without an executable bootstrap.
  json body = {{"FunctionName", "z"},
               {"Runtime", "provided.al2023"},
               {"Role", "r"},
               {"Code", {{"ZipFile", Base64Encode("garbage")}}}};
  Resp nz = Call(ll_->port(), http::verb::post, "/2015-03-31/functions", body.dump());
  EXPECT_EQ(nz.status, 400);
  EXPECT_EQ(nz.H("x-amzn-ErrorType"), "InvalidParameterValueException");
  body["Code"]["ZipFile"] = Base64Encode(*os::MakeZip({{"bootstrap", "x", 0644}}));
  Resp nb = Call(ll_->port(), http::verb::post, "/2015-03-31/functions", body.dump());
  EXPECT_EQ(nb.status, 400);
  EXPECT_NE(json::parse(nb.body)["message"].get<std::string>().find("bootstrap"),
            std::string::npos);
  // Still serving.
  EXPECT_EQ(Invoke("echo", "1").status, 200);
}

TEST_F(LocalLambdaTest, TimeoutKillsAndReplaces) {
  ASSERT_EQ(Create("slow", kEchoRuntime, 1).status, 201);
  auto t0 = std::chrono::steady_clock::now();
  Resp r = Invoke("slow", R"("cmd:sleep 30")");
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 5);
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Sandbox.Timedout");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("Task timed out after 1."),
            std::string::npos);
  EXPECT_EQ(Invoke("slow", "2").body, "2");
}

TEST_F(LocalLambdaTest, CrashesGiveRuntimeExitError) {
  ASSERT_EQ(Create("crashstart", "#!/bin/sh\necho dying >&2\nexit 1\n").status, 201);
  Resp r = Invoke("crashstart", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Runtime.ExitError");
  EXPECT_EQ(j["errorMessage"], "RequestId: " + r.H("x-amzn-RequestId") +
                                   " Error: Runtime exited with error: exit status 1");
  ASSERT_EQ(Create("crashmid", kEchoRuntime).status, 201);
  Resp m = Invoke("crashmid", R"("cmd:kill -9 $PPID")");
  EXPECT_EQ(json::parse(m.body)["errorMessage"],
            "RequestId: " + m.H("x-amzn-RequestId") +
                " Error: Runtime exited with error: signal: killed");
  EXPECT_EQ(Invoke("crashmid", "3").body, "3");  // replaced
}

TEST_F(LocalLambdaTest, MemoryOverTheLimitIsOutOfMemory) {
  ASSERT_EQ(Create("mem", kEchoRuntime, 20, {{"MemorySize", 128}}).status, 201);
  Resp r = Invoke(
      "mem", R"("cmd:python3 -c 'import time; x=bytes(range(256))*(1600<<10); time.sleep(10)'")");
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Runtime.OutOfMemory") << r.body;
  EXPECT_EQ(Invoke("mem", "4").body, "4");  // replaced
}

TEST_F(LocalLambdaTest, ConcurrencyLimitsAndEvents) {
  ASSERT_EQ(Create("c", kEchoRuntime).status, 201);
  Resp put = Call(ll_->port(), http::verb::put, "/2017-10-31/functions/c/concurrency",
                  R"({"ReservedConcurrentExecutions":0})");
  ASSERT_EQ(put.status, 200) << put.body;
  Resp get = Call(ll_->port(), http::verb::get, "/2019-09-30/functions/c/concurrency");
  EXPECT_EQ(json::parse(get.body)["ReservedConcurrentExecutions"], 0);
  Resp t = Invoke("c", "{}");
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(t.H("x-amzn-ErrorType"), "TooManyRequestsException");
  EXPECT_EQ(json::parse(t.body)["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_FALSE(t.H("Retry-After").empty());
  // An Event invoke at reserved concurrency 0 is accepted and dropped: it never runs, not even
  // once the limit is lifted (what `parallelagram cancel` relies on to empty the queue).
  std::string marker = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  Resp ev = Invoke("c", "\"cmd:touch " + marker + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(ev.status, 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Call(ll_->port(), http::verb::delete_, "/2017-10-31/functions/c/concurrency").status,
            204);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_FALSE(std::filesystem::exists(marker));
  // Once lifted, an Event invoke runs.
  ev = Invoke("c", "\"cmd:touch " + marker + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  EXPECT_EQ(ev.status, 202);
  for (int i = 0; i < 100 && !std::filesystem::exists(marker); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::filesystem::remove(marker);
  Resp acct = Call(ll_->port(), http::verb::get, "/2016-08-19/account-settings");
  EXPECT_EQ(json::parse(acct.body)["AccountLimit"]["ConcurrentExecutions"], 4);
  Resp dry = Invoke("c", "{}", {{"X-Amz-Invocation-Type", "DryRun"}});
  EXPECT_EQ(dry.status, 204);
}

TEST_F(LocalLambdaTest, AccountLimitThrottlesSyncInvokes) {
  ASSERT_EQ(Create("busy", kEchoRuntime, 10).status, 201);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { Invoke("busy", R"("cmd:sleep 1")"); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  Resp t = Invoke("busy", "{}");
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(json::parse(t.body)["Reason"], "ConcurrentInvocationLimitExceeded");
  for (auto& th : threads) th.join();
  EXPECT_EQ(Invoke("busy", "5").status, 200);
}

}  // namespace
}  // namespace parallelagram::local

namespace parallelagram::local {
namespace {

// A runtime whose every invocation appends its request id to the file named by the event
// (a JSON string) and then reports a function error.
const char* kFailingRuntime = R"(#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  hdr=$(mktemp)
  body=$(curl -sS -D "$hdr" "$api/invocation/next") || exit 3
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$hdr" | tr -d '\r' | cut -d' ' -f2)
  f=${body#\"}; f=${f%\"}
  echo "$id" >> "$f"
  curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Fail' \
    --data-binary '{"errorType":"Custom.Fail","errorMessage":"no"}' "$api/invocation/$id/error"
  rm -f "$hdr"
done
)";

TEST_F(LocalLambdaTest, EventFunctionErrorsAreRetriedTwiceWithTheSameRequestId) {
  ASSERT_EQ(Create("failing", kFailingRuntime).status, 201);
  std::string marker = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  Resp ev = Invoke("failing", "\"" + marker + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  ASSERT_EQ(ev.status, 202);
  EXPECT_TRUE(ev.body.empty());
  auto lines = [&] {
    std::string s = ReadAll(marker);
    return std::count(s.begin(), s.end(), '\n');
  };
  EXPECT_TRUE(WaitFor([&] { return lines() >= 3; })) << ReadAll(marker);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // no 4th attempt
  std::string s = ReadAll(marker);
  EXPECT_EQ(lines(), 3) << s;
  std::string rid = ev.H("x-amzn-RequestId");
  EXPECT_EQ(s, rid + "\n" + rid + "\n" + rid + "\n");  // Lambda keeps the id across retries
  std::filesystem::remove(marker);
}

TEST_F(LocalLambdaTest, EventInvokeConfigBoundsRetries) {
  ASSERT_EQ(Create("failing", kFailingRuntime).status, 201);
  const std::string path = "/2019-09-25/functions/failing/event-invoke-config";
  Resp none = Call(ll_->port(), http::verb::get, path);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.H("x-amzn-ErrorType"), "ResourceNotFoundException");
  Resp bad = Call(ll_->port(), http::verb::put, path, R"({"MaximumRetryAttempts":3})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.H("x-amzn-ErrorType"), "ValidationException");
  Resp put = Call(ll_->port(), http::verb::put, path, R"({"MaximumRetryAttempts":0})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["MaximumRetryAttempts"], 0);
  EXPECT_EQ(json::parse(Call(ll_->port(), http::verb::get, path).body)["MaximumRetryAttempts"], 0);
  std::string marker = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  Resp ev = Invoke("failing", "\"" + marker + "\"", {{"X-Amz-Invocation-Type", "Event"}});
  ASSERT_EQ(ev.status, 202);
  EXPECT_TRUE(WaitFor([&] { return !ReadAll(marker).empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // retries would come at 50 ms
  EXPECT_EQ(ReadAll(marker), ev.H("x-amzn-RequestId") + "\n");  // one attempt, no retry
  std::filesystem::remove(marker);
  EXPECT_EQ(Call(ll_->port(), http::verb::delete_, path).status, 204);
  EXPECT_EQ(Call(ll_->port(), http::verb::get, path).status, 404);
}

TEST_F(LocalLambdaTest, EventsWaitForReservedConcurrencyAndNeverOverlap) {
  ASSERT_EQ(Create("one", kEchoRuntime).status, 201);
  ASSERT_EQ(Call(ll_->port(), http::verb::put, "/2017-10-31/functions/one/concurrency",
                 R"({"ReservedConcurrentExecutions":1})")
                .status,
            200);
  std::string marker = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  std::string cmd = "\"cmd:echo S >> " + marker + "; sleep 0.3; echo E >> " + marker + "\"";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Invoke("one", cmd, {{"X-Amz-Invocation-Type", "Event"}}).status, 202);
  }
  // While an event runs, the function's one slot is taken: a sync invoke is throttled.
  ASSERT_TRUE(WaitFor([&] { return !ReadAll(marker).empty(); }));
  Resp t = Invoke("one", "{}");
  EXPECT_EQ(t.status, 429);
  EXPECT_EQ(json::parse(t.body)["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_TRUE(WaitFor([&] { return ReadAll(marker).size() >= 12; }));
  EXPECT_EQ(ReadAll(marker), "S\nE\nS\nE\nS\nE\n");  // one at a time, all three ran
  std::filesystem::remove(marker);
}

TEST_F(LocalLambdaTest, EventsWaitForTheAccountLimit) {
  // Account limit 4 (SetUp): 6 events of 0.3 s each run at most 4 at a time.
  ASSERT_EQ(Create("many", kEchoRuntime).status, 201);
  std::string dir = (std::filesystem::temp_directory_path() / NewRequestId()).string();
  std::filesystem::create_directories(dir);
  // Each event records the number of events running when it started.
  std::string cmd = "\"cmd:touch " + dir + "/run.$$; ls " + dir + " | grep -c run > " + dir +
                    "/seen.$$; sleep 0.3; rm " + dir + "/run.$$\"";
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Invoke("many", cmd, {{"X-Amz-Invocation-Type", "Event"}}).status, 202);
  }
  auto seen = [&] {
    std::vector<int> v;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().filename().string().rfind("seen.", 0) == 0)
        v.push_back(std::stoi("0" + ReadAll(e.path())));
    }
    return v;
  };
  EXPECT_TRUE(WaitFor([&] {
    bool running = false;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
      running |= e.path().filename().string().rfind("run.", 0) == 0;
    }
    return seen().size() == 6 && !running;
  }));
  for (int n : seen()) {
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 4);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(LocalLambdaTest, AResponseOver6MbIsAnError) {
  const char* big = R"(#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  hdr=$(mktemp); out=$(mktemp)
  body=$(curl -sS -D "$hdr" "$api/invocation/next") || exit 3
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$hdr" | tr -d '\r' | cut -d' ' -f2)
  printf '"' > "$out"; head -c "$body" /dev/zero | tr '\0' x >> "$out"; printf '"' >> "$out"
  curl -sS -o /dev/null -X POST --data-binary "@$out" "$api/invocation/$id/response"
  rm -f "$hdr" "$out"
done
)";
  ASSERT_EQ(Create("big", big).status, 201);
  Resp r = Invoke("big", "7000000");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Function.ResponseSizeTooLarge");
  Resp ok = Invoke("big", "6000000");  // the same environment, under the limit
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.size(), 6000002u);
  EXPECT_TRUE(ok.H("X-Amz-Function-Error").empty());
}

TEST_F(LocalLambdaTest, InitErrorIsTheInvocationsError) {
  const char* init_fails = R"(#!/bin/sh
curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Init' \
  --data-binary '{"errorType":"Custom.Init","errorMessage":"cannot start"}' \
  "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error"
exit 1
)";
  ASSERT_EQ(Create("initfail", init_fails).status, 201);
  Resp r = Invoke("initfail", "{}", {{"X-Amz-Log-Type", "Tail"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.H("X-Amz-Function-Error"), "Unhandled");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["errorType"], "Custom.Init");
  EXPECT_EQ(j["errorMessage"], "cannot start");
  auto log = Base64Decode(r.H("X-Amz-Log-Result"));
  ASSERT_TRUE(log);
  EXPECT_NE(log->find("Status: error\tError Type: Custom.Init"), std::string::npos) << *log;
  ASSERT_EQ(Create("fine", kEchoRuntime).status, 201);
  EXPECT_EQ(Invoke("fine", "6").body, "6");  // still serving
}

}  // namespace
}  // namespace parallelagram::local
