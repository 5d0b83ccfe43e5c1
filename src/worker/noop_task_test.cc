#include "worker/noop_task.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "worker/task_registry.h"

namespace parallelagram {
namespace {

using json = nlohmann::json;

TEST(NoopTaskTest, EchoesStdinWithoutAProcess) {
  TaskRegistry registry;
  registry.Register("noop", MakeNoopHandler());
  auto blobs = Blobs::WithDefaults();
  InvocationContext ctx;
  ctx.request_id = "r";
  ctx.cold = true;
  ctx.invocation_index = 1;
  Reply r = RunTaskEvent(registry, *blobs, R"({"kind":"noop","task_id":"t7","stdin":"ping"})", ctx);
  ASSERT_FALSE(r.is_error) << r.error_type << ": " << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["outcome"], "succeeded");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["stdout"], "ping");
  EXPECT_EQ(j["task_id"], "t7");
  EXPECT_EQ(j["cold"], true);
  EXPECT_EQ(j["wall_ms"], 0);  // nothing ran
  // No argv needed for this kind; a bad event is still refused.
  Reply bad = RunTaskEvent(registry, *blobs, R"({"kind":"noop","stdin":5})", ctx);
  EXPECT_TRUE(bad.is_error);
  EXPECT_EQ(bad.error_type, kErrInvalidTaskEvent);
}

}  // namespace
}  // namespace parallelagram
