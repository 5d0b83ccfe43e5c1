#include "worker/task_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace parallelagram {
namespace {

using json = nlohmann::json;

// A user's C++ function as a task kind: upper-cases its stdin.
class UpperHandler : public TaskHandler {
 public:
  Result<TaskResult> Run(const TaskEvent& e, const InvocationContext& ctx) override {
    last_request_id = ctx.request_id;
    if (e.stdin_data == "invalid") return Status::InvalidArgument("stdin must not say invalid");
    if (e.stdin_data == "broken") return Status::IoError("disk on fire");
    if (e.stdin_data == "throw") throw std::runtime_error("boom");
    TaskResult r;
    r.exit_code = 0;
    for (char c : e.stdin_data) r.stdout_data.push_back(static_cast<char>(std::toupper(c)));
    return r;
  }
  std::string last_request_id;
};

class RunTaskEventTest : public ::testing::Test {
 protected:
  RunTaskEventTest() {
    auto h = std::make_unique<UpperHandler>();
    upper_ = h.get();
    registry_.Register("upper", std::move(h));
    ctx_.request_id = "req-1";
    ctx_.cold = true;
    ctx_.invocation_index = 1;
  }
  Reply Go(const std::string& body) { return RunTaskEvent(registry_, *blobs_, body, ctx_); }

  TaskRegistry registry_;
  UpperHandler* upper_;
  std::unique_ptr<Blobs> blobs_ = Blobs::WithDefaults();
  InvocationContext ctx_;
};

TEST_F(RunTaskEventTest, CustomKindRunsAndTheWorkerFillsTheEnvelope) {
  Reply r = Go(R"({"kind":"upper","task_id":"t9","stdin":"abc"})");
  ASSERT_FALSE(r.is_error) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["stdout"], "ABC");
  EXPECT_EQ(j["task_id"], "t9");
  EXPECT_EQ(j["v"], kProtocolVersion);
  EXPECT_EQ(j["cold"], true);
  EXPECT_EQ(j["invocation_index"], 1);
  EXPECT_EQ(j["outcome"], "succeeded");
  EXPECT_EQ(upper_->last_request_id, "req-1");
}

TEST_F(RunTaskEventTest, UnknownKindAndBadEvents) {
  Reply r = Go(R"({"kind":"nope","argv":["x"]})");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.error_type, kErrUnknownTaskKind);
  EXPECT_NE(r.body.find("'nope'"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("upper"), std::string::npos) << r.body;

  r = Go("{not json");
  EXPECT_EQ(r.error_type, kErrInvalidTaskEvent);
  EXPECT_NE(r.body.find("not valid JSON"), std::string::npos) << r.body;
  r = Go(R"({"env":{}})");  // kind process by default, no argv
  EXPECT_EQ(r.error_type, kErrInvalidTaskEvent);
  EXPECT_NE(r.body.find("argv"), std::string::npos) << r.body;
  r = Go(R"({"argv":["x"],"timeout_ms":"soon"})");
  EXPECT_EQ(r.error_type, kErrInvalidTaskEvent);
  EXPECT_NE(r.body.find("timeout_ms"), std::string::npos) << r.body;
  r = Go(R"({"v":99,"argv":["x"]})");
  EXPECT_EQ(r.error_type, kErrInvalidTaskEvent);
  EXPECT_EQ(Go("").error_type, kErrInvalidTaskEvent);
  EXPECT_EQ(Go("42").error_type, kErrInvalidTaskEvent);
}

TEST_F(RunTaskEventTest, HandlerFailuresMapToErrorTypes) {
  EXPECT_EQ(Go(R"({"kind":"upper","stdin":"invalid"})").error_type, kErrInvalidTaskEvent);
  Reply r = Go(R"({"kind":"upper","stdin":"broken"})");
  EXPECT_EQ(r.error_type, kErrHandlerError);
  EXPECT_NE(r.body.find("disk on fire"), std::string::npos);
  r = Go(R"({"kind":"upper","stdin":"throw"})");
  EXPECT_EQ(r.error_type, kErrHandlerError);
  EXPECT_NE(r.body.find("boom"), std::string::npos);
}

TEST_F(RunTaskEventTest, ResultUriGetsTheResultAndAFailureIsAnError) {
  char tmpl[] = "/tmp/pg-dispatch-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  json ev = {{"kind", "upper"}, {"stdin", "x"}, {"result_uri", "file://" + dir + "/r/1.json"}};
  Reply r = Go(ev.dump());
  ASSERT_FALSE(r.is_error) << r.body;
  std::ifstream in(dir + "/r/1.json");
  json stored = json::parse(in);
  EXPECT_EQ(stored["stdout"], "X");
  EXPECT_EQ(stored["cold"], true);
  ev["result_uri"] = "s3://bucket/key";
  r = Go(ev.dump());
  EXPECT_EQ(r.error_type, kErrResultStore);
  std::filesystem::remove_all(dir);
}

TEST_F(RunTaskEventTest, SpillOnlyStoresTheResultOnlyWhenTheResponseIsCut) {
  char tmpl[] = "/tmp/pg-dispatch-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  json ev = {{"kind", "upper"},
             {"stdin", "x"},
             {"result_uri", "file://" + dir + "/r/1.json"},
             {"result_spill_only", true}};
  Reply r = Go(ev.dump());
  ASSERT_FALSE(r.is_error) << r.body;
  EXPECT_FALSE(std::filesystem::exists(dir + "/r/1.json"));  // it fitted: no store request
  EXPECT_EQ(json::parse(r.body)["stdout"], "X");

  ev["stdin"] = std::string(kSyncPayloadLimit + 1000, 'y');
  ev["max_output_bytes"] = int64_t{16} << 20;
  r = Go(ev.dump());
  ASSERT_FALSE(r.is_error) << r.body.substr(0, 200);
  EXPECT_LE(r.body.size(), kSyncPayloadLimit);
  EXPECT_TRUE(json::parse(r.body)["stdout_truncated"]);
  std::ifstream in(dir + "/r/1.json");
  json stored = json::parse(in);
  EXPECT_EQ(stored["stdout"].get<std::string>().size(), kSyncPayloadLimit + 1000);
  EXPECT_FALSE(stored["stdout_truncated"]);
  std::filesystem::remove_all(dir);
}

TEST(FitResultJsonTest, CutsOutputToFitTheResponseLimit) {
  constexpr size_t kLimit = 100'000;  // the same code path as kSyncPayloadLimit, faster
  TaskResult r;
  r.stdout_data = std::string(150'000, 'a');
  r.stderr_data = std::string(100, 'e');
  std::string out = FitResultJson(r, kLimit);
  EXPECT_LE(out.size(), kLimit);
  EXPECT_GT(out.size(), kLimit - 1024);
  json j = json::parse(out);
  EXPECT_TRUE(j["stdout_truncated"]);
  EXPECT_FALSE(j["stderr_truncated"]);
  EXPECT_EQ(j["stderr"], std::string(100, 'e'));
  // Escaped text (6 bytes per control character) also fits, without cutting much more.
  TaskResult ctl;
  ctl.stdout_data = std::string(50'000, '\x01');
  out = FitResultJson(ctl, kLimit);
  EXPECT_LE(out.size(), kLimit);
  EXPECT_GT(out.size(), kLimit - 1024);
  // Binary (base64) output likewise.
  TaskResult bin;
  bin.stdout_data = std::string(200'000, '\xff');
  out = FitResultJson(bin, kLimit);
  EXPECT_LE(out.size(), kLimit);
  EXPECT_TRUE(json::parse(out)["stdout_truncated"]);
  // A small result is untouched.
  TaskResult small;
  small.stdout_data = "hi\n";
  json s = json::parse(FitResultJson(small, kSyncPayloadLimit));
  EXPECT_EQ(s["stdout"], "hi\n");
  EXPECT_FALSE(s["stdout_truncated"]);
}

class FailingInit : public TaskHandler {
 public:
  Status Init(const InvocationContext&) override { return Status::IoError("no scratch space"); }
  Result<TaskResult> Run(const TaskEvent&, const InvocationContext&) override {
    return TaskResult{};
  }
};

TEST(TaskRegistryTest, InitFailureNamesTheKind) {
  TaskRegistry reg;
  reg.Register("fine", std::make_unique<UpperHandler>());
  reg.Register("needs-disk", std::make_unique<FailingInit>());
  Status s = reg.InitAll(InvocationContext{});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("needs-disk"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no scratch space"), std::string::npos) << s.message();
  EXPECT_EQ(reg.KindsList(), "fine, needs-disk");
}

}  // namespace
}  // namespace parallelagram
