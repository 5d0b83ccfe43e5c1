#include "worker/worker_loop.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

namespace parallelagram {
namespace {

using json = nlohmann::json;

// A scripted Runtime API: hands out queued invocations, then fails (as AWS's 500).
class ScriptedRuntimeApi : public RuntimeApi {
 public:
  struct Post {
    std::string request_id, kind, type, body;  // kind: "response" or "error"
  };
  std::deque<NextInvocation> next;
  std::vector<Post> posts;
  bool refuse_posts = false;

  Result<NextInvocation> Next() override {
    if (next.empty()) return Status::ProtocolError("the Runtime API answered 500");
    NextInvocation n = std::move(next.front());
    next.pop_front();
    return n;
  }
  Status PostResponse(const std::string& id, const std::string& body) override {
    posts.push_back({id, "response", "", body});
    return refuse_posts ? Status::ProtocolError("413") : Status::Ok();
  }
  Status PostError(const std::string& id, const std::string& type,
                   const std::string& msg) override {
    posts.push_back({id, "error", type, msg});
    return Status::Ok();
  }
  Status PostInitError(const std::string& type, const std::string& msg) override {
    posts.push_back({"", "init", type, msg});
    return Status::Ok();
  }
};

class EchoKind : public TaskHandler {
 public:
  Result<TaskResult> Run(const TaskEvent& e, const InvocationContext& ctx) override {
    TaskResult r;
    r.stdout_data = e.stdin_data + "@" + std::to_string(ctx.deadline_epoch_ms);
    return r;
  }
};

TEST(ServeInvocationsTest, RepliesToEachInvocationAndCountsThem) {
  ScriptedRuntimeApi api;
  api.next.push_back({"a", 111, "arn", "", R"({"kind":"echo","stdin":"one"})"});
  api.next.push_back({"b", 0, "", "", "garbage"});
  api.next.push_back({"", 0, "", "", R"({"kind":"echo"})"});  // no request id: skipped
  api.next.push_back({"c", 222, "", "", R"({"kind":"echo","stdin":"three"})"});
  TaskRegistry reg;
  reg.Register("echo", std::make_unique<EchoKind>());
  auto blobs = Blobs::WithDefaults();
  api.refuse_posts = false;
  EXPECT_EQ(ServeInvocations(api, reg, *blobs, InvocationContext{}), 1);  // ends when /next fails
  ASSERT_EQ(api.posts.size(), 3u);
  EXPECT_EQ(api.posts[0].request_id, "a");
  json first = json::parse(api.posts[0].body);
  EXPECT_EQ(first["stdout"], "one@111");
  EXPECT_EQ(first["cold"], true);
  EXPECT_EQ(first["invocation_index"], 1);
  EXPECT_EQ(api.posts[1].kind, "error");
  EXPECT_EQ(api.posts[1].type, kErrInvalidTaskEvent);
  json third = json::parse(api.posts[2].body);
  EXPECT_EQ(api.posts[2].request_id, "c");
  EXPECT_EQ(third["stdout"], "three@222");
  EXPECT_EQ(third["cold"], false);
  EXPECT_EQ(third["invocation_index"], 3);
}

TEST(ServeInvocationsTest, EveryResultCarriesTheProcessEnvironmentId) {
  ScriptedRuntimeApi api;
  api.next.push_back({"a", 0, "", "", R"({"kind":"echo"})"});
  api.next.push_back({"b", 0, "", "", R"({"kind":"echo"})"});
  TaskRegistry reg;
  reg.Register("echo", std::make_unique<EchoKind>());
  auto blobs = Blobs::WithDefaults();
  api.refuse_posts = false;
  InvocationContext env = EnvironmentContext();
  ASSERT_EQ(env.env_id.size(), 16u);
  EXPECT_EQ(EnvironmentContext().env_id, env.env_id);  // once per process
  ServeInvocations(api, reg, *blobs, env);
  ASSERT_EQ(api.posts.size(), 2u);
  EXPECT_EQ(json::parse(api.posts[0].body)["env_id"], env.env_id);
  EXPECT_EQ(json::parse(api.posts[1].body)["env_id"], env.env_id);
}

TEST(ServeInvocationsTest, ARefusedPostDoesNotStopTheLoop) {
  ScriptedRuntimeApi api;
  api.refuse_posts = true;
  for (const char* id : {"a", "b"}) api.next.push_back({id, 0, "", "", R"({"kind":"echo"})"});
  TaskRegistry reg;
  reg.Register("echo", std::make_unique<EchoKind>());
  auto blobs = Blobs::WithDefaults();
  EXPECT_EQ(ServeInvocations(api, reg, *blobs, InvocationContext{}, 2), 0);
  EXPECT_EQ(api.posts.size(), 2u);
}

TEST(RuntimeErrorBodyTest, HasTheFieldsLambdaExpects) {
  json j = json::parse(RuntimeErrorBody("T.X", "what \"went\" wrong"));
  EXPECT_EQ(j["errorType"], "T.X");
  EXPECT_EQ(j["errorMessage"], "what \"went\" wrong");
  EXPECT_TRUE(j["stackTrace"].is_array());
  EXPECT_TRUE(j["stackTrace"].empty());
}

}  // namespace
}  // namespace parallelagram
