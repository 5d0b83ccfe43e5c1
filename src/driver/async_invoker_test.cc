#include "driver/async_invoker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "driver/result_inbox.h"
#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using testing::FakeLoop;

// Plays Lambda's Event API: answers each request with `status`, and for 202 lets a "worker"
// write the result object `delay_ms` later (or never, when `lose` is set).
class FakeAsyncLambda : public HttpClient {
 public:
  FakeAsyncLambda(FakeLoop& loop) : loop_(loop) {}
  void Send(HttpRequest req, std::function<void(Result<HttpResponse>)> done) override {
    requests.push_back(req);
    HttpResponse resp;
    resp.status = next_status.empty() ? 202 : next_status.front();
    if (!next_status.empty()) next_status.erase(next_status.begin());
    if (resp.status == 429) {
      resp.body =
          R"({"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."})";
      resp.headers = {{"x-amzn-errortype", "TooManyRequestsException"}};
    }
    if (resp.status == 202) {
      auto ev = TaskEventFromJson(nlohmann::json::parse(req.body)).value();
      if (!lose) {
        loop_.After(delay_ms, [ev, this] {
          TaskResult r;
          r.task_id = ev.task_id;
          r.exit_code = 0;
          r.stdout_data = "out of " + ev.task_id;
          Write(ev.result_uri, TaskResultToJson(r).dump());
          if (duplicate) Write(ev.result_uri, TaskResultToJson(r).dump());
        });
      }
    }
    loop_.After(1, [done = std::move(done), resp]() mutable { done(std::move(resp)); });
  }
  static void Write(const std::string& uri, const std::string& body) {
    std::string path = uri.substr(7);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << body;
  }
  FakeLoop& loop_;
  std::vector<HttpRequest> requests;
  std::vector<long> next_status;
  int64_t delay_ms = 300;
  bool lose = false;
  bool duplicate = false;
};

class AsyncInvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg-event-invoker-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  TaskEvent Event(int seq) {
    TaskEvent e;
    e.task_id = "job/" + std::to_string(seq);
    e.argv = {"true"};
    e.timeout_ms = 10000;
    return e;
  }
  FakeClock clock_;
  FakeLoop loop_{clock_};
  std::string dir_;
};

TEST_F(AsyncInvokerTest, CollectsEachResultByListingAndRemovesIt) {
  FakeAsyncLambda lambda(loop_);
  DirectoryResultInbox inbox(dir_ + "/results", loop_);
  AsyncInvoker::Options o;
  o.invoke.endpoint = "http://lambda";
  o.invoke.function_name = "f";
  AsyncInvoker inv(lambda, loop_, clock_, inbox, o);
  std::map<std::string, TaskResult> got;
  for (int i = 1; i <= 30; ++i) {
    inv.Invoke(Event(i), [&](TaskResult r) { got.emplace(r.task_id, std::move(r)); });
  }
  loop_.Run();
  ASSERT_EQ(got.size(), 30u);
  EXPECT_EQ(got["job/7"].stdout_data, "out of job/7");
  EXPECT_EQ(got["job/7"].outcome, Outcome::kSucceeded);
  ASSERT_EQ(lambda.requests.size(), 30u);
  bool event_type = false;
  for (const auto& [k, v] : lambda.requests[0].headers) {
    event_type |= k == "X-Amz-Invocation-Type" && v == "Event";
  }
  EXPECT_TRUE(event_type);
  // Far fewer listings than tasks: results are learned in bulk.
  EXPECT_LE(inv.polls(), 3);
  EXPECT_TRUE(fs::is_empty(dir_ + "/results"));
}

TEST_F(AsyncInvokerTest, RefusedInvocationsAreClassifiedAndLostOnesExpire) {
  FakeAsyncLambda lambda(loop_);
  lambda.next_status = {429, 500};
  lambda.lose = true;
  DirectoryResultInbox inbox(dir_ + "/results", loop_);
  AsyncInvoker::Options o;
  o.invoke.endpoint = "http://lambda";
  o.invoke.function_name = "f";
  o.lost_after_ms = 5000;
  AsyncInvoker inv(lambda, loop_, clock_, inbox, o);
  std::vector<TaskResult> got;
  for (int i = 1; i <= 3; ++i) inv.Invoke(Event(i), [&](TaskResult r) { got.push_back(r); });
  loop_.Run();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].outcome, Outcome::kThrottled);
  EXPECT_EQ(got[1].outcome, Outcome::kTransport);
  EXPECT_EQ(got[2].outcome, Outcome::kCrashed);
  EXPECT_NE(got[2].error.find("no result arrived"), std::string::npos);
  EXPECT_GE(loop_.now_ms(), 15000);  // the task's 10 s deadline plus 5 s
  EXPECT_EQ(inv.pending(), 0u);
}

TEST_F(AsyncInvokerTest, AStaleOrDuplicatedResultIsNeverTakenForAnotherAttempt) {
  FakeAsyncLambda lambda(loop_);
  lambda.duplicate = true;
  DirectoryResultInbox inbox(dir_ + "/results", loop_);
  // A result left by an earlier attempt of task 1 (another attempt number).
  FakeAsyncLambda::Write(inbox.Uri("1.99.json"),
                         R"({"v":1,"task_id":"job/1","outcome":"failed","exit_code":3})");
  AsyncInvoker::Options o;
  o.invoke.endpoint = "http://lambda";
  o.invoke.function_name = "f";
  AsyncInvoker inv(lambda, loop_, clock_, inbox, o);
  int calls = 0;
  TaskResult got;
  inv.Invoke(Event(1), [&](TaskResult r) {
    ++calls;
    got = r;
  });
  loop_.Run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.outcome, Outcome::kSucceeded);
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ + "/results/1.99.json"));  // stale object removed
}

// Listing fails for the first `failures` polls (AccessDenied, say), then works.
class FlakyInbox : public ResultInbox {
 public:
  FlakyInbox(ResultInbox& inner, int failures) : inner_(inner), failures_(failures) {}
  std::string Uri(const std::string& name) const override { return inner_.Uri(name); }
  void Poll(Wanted wanted, std::function<void(Result<std::vector<Item>>)> done) override {
    if (failures_ > 0) {
      --failures_;
      done(Status::PermissionDenied("S3 ListObjectsV2: AccessDenied: Access Denied"));
      return;
    }
    inner_.Poll(std::move(wanted), std::move(done));
  }
  void Remove(std::vector<std::string> names) override { inner_.Remove(std::move(names)); }

 private:
  ResultInbox& inner_;
  int failures_;
};

TEST_F(AsyncInvokerTest, AFailingListingIsReportedOnceAndRetried) {
  FakeAsyncLambda lambda(loop_);
  DirectoryResultInbox dir_inbox(dir_ + "/results", loop_);
  FlakyInbox inbox(dir_inbox, 3);
  AsyncInvoker::Options o;
  o.invoke.endpoint = "http://lambda";
  o.invoke.function_name = "f";
  std::vector<std::string> reported;
  o.on_poll_error = [&](const std::string& why) { reported.push_back(why); };
  AsyncInvoker inv(lambda, loop_, clock_, inbox, o);
  std::vector<TaskResult> got;
  for (int i = 1; i <= 5; ++i) inv.Invoke(Event(i), [&](TaskResult r) { got.push_back(r); });
  loop_.Run();
  ASSERT_EQ(reported.size(), 1u);  // three failed polls in a row: said once
  EXPECT_NE(reported[0].find("AccessDenied"), std::string::npos);
  ASSERT_EQ(got.size(), 5u);  // and the results are collected once listing works again
  for (const auto& r : got) EXPECT_EQ(r.outcome, Outcome::kSucceeded);
}

}  // namespace
}  // namespace parallelagram::driver
