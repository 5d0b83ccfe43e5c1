// The task protocol codec (parallelagram/task.h, src/common/task.cc) against what
// docs/protocol.md promises: defaults, round trips, the *_b64 forms, version refusal, and
// errors that name the offending field. (Path rules for cwd/files/returns are the worker's:
// worker/scratch_files_test.cc.)
#include "parallelagram/task.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace parallelagram {
namespace {

using json = nlohmann::json;

Result<TaskEvent> Event(const char* text) { return TaskEventFromJson(json::parse(text)); }

TEST(TaskProtocolTest, MinimalEvent) {
  auto e = TaskEventFromJson(nlohmann::json::parse(R"({"argv":["echo","hi"]})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(e->kind, "process");
  EXPECT_FALSE(TaskEventFromJson(nlohmann::json::parse(R"({"env":{}})")).ok());
  EXPECT_FALSE(TaskEventFromJson(nlohmann::json::parse(R"({"argv":"echo"})")).ok());
}

TEST(TaskProtocolTest, ResultRoundTripWithBinaryOutput) {
  TaskResult r;
  r.outcome = Outcome::kCrashed;
  r.signal = 9;
  r.stdout_data = std::string("\x00\xff binary", 9);
  r.stderr_data = "text ✓";
  auto j = TaskResultToJson(r);
  EXPECT_TRUE(j.contains("stdout_b64"));
  EXPECT_EQ(j["stderr"], "text ✓");
  auto back = TaskResultFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->stdout_data, r.stdout_data);
  EXPECT_EQ(back->outcome, Outcome::kCrashed);
  EXPECT_EQ(back->signal, 9);
  EXPECT_FALSE(back->exit_code.has_value());
}

TEST(TaskProtocolTest, EventDefaultsAreTheDocumentedOnes) {
  auto e = Event(R"({"argv":["true"]})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->v, 1);  // a missing v means 1
  EXPECT_EQ(e->task_id, "");
  EXPECT_EQ(e->kind, "process");
  EXPECT_FALSE(e->shell);
  EXPECT_TRUE(e->env.empty());
  EXPECT_EQ(e->stdin_data, "");
  EXPECT_EQ(e->cwd, "");
  EXPECT_EQ(e->timeout_ms, 0);
  EXPECT_EQ(e->max_output_bytes, 4194304);
  EXPECT_TRUE(e->files.empty());
  EXPECT_TRUE(e->returns.empty());
  EXPECT_EQ(e->output_uri, "");
  EXPECT_EQ(e->result_uri, "");
  EXPECT_FALSE(e->result_spill_only);
  EXPECT_EQ(e->event_uri, "");
}

TEST(TaskProtocolTest, EventRoundTripsEveryField) {
  TaskEvent e;
  e.task_id = "job/7";
  e.argv = {"sh", "-c", "echo $0", "x y"};
  e.shell = true;
  e.env = {{"A", "1"}, {"B", "two"}};
  e.stdin_data = "line ✓\n";
  e.cwd = "sub/dir";
  e.timeout_ms = 1500;
  e.max_output_bytes = 1024;
  e.files = {{"in/a.txt", "file:///tmp/cas/ab", std::string(64, 'a'), 12, true, true},
             {"s3:/b/k", "s3://b/k", "", 0, false, false}};
  e.returns = {"out/r.txt"};
  e.output_uri = "file:///tmp/out";
  e.result_uri = "file:///tmp/res.json";
  e.result_spill_only = true;
  e.event_uri = "s3://b/events/7.1.json";
  e.live_output = "/tmp/state/live/7.1";
  e.function = "Simulate";
  auto back = TaskEventFromJson(json::parse(TaskEventToJson(e).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task_id, e.task_id);
  EXPECT_EQ(back->argv, e.argv);
  EXPECT_TRUE(back->shell);
  EXPECT_EQ(back->env, e.env);
  EXPECT_EQ(back->stdin_data, e.stdin_data);
  EXPECT_EQ(back->cwd, e.cwd);
  EXPECT_EQ(back->timeout_ms, 1500);
  EXPECT_EQ(back->max_output_bytes, 1024);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[0].path, "in/a.txt");
  EXPECT_EQ(back->files[0].uri, "file:///tmp/cas/ab");
  EXPECT_EQ(back->files[0].sha256, std::string(64, 'a'));
  EXPECT_EQ(back->files[0].size, 12u);
  EXPECT_TRUE(back->files[0].executable);
  EXPECT_TRUE(back->files[0].cache);
  EXPECT_EQ(back->files[1].path, "s3:/b/k");
  EXPECT_FALSE(back->files[1].executable);
  EXPECT_FALSE(back->files[1].cache);
  EXPECT_EQ(back->returns, e.returns);
  EXPECT_EQ(back->output_uri, e.output_uri);
  EXPECT_EQ(back->result_uri, e.result_uri);
  EXPECT_TRUE(back->result_spill_only);
  EXPECT_EQ(back->event_uri, e.event_uri);
  EXPECT_EQ(back->live_output, e.live_output);
  EXPECT_EQ(back->function, "Simulate");
}

TEST(TaskProtocolTest, FunctionKindNeedsItsFunction) {
  auto bad = TaskEventFromJson(json::parse(R"({"kind":"function"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'function'"), std::string::npos);
  auto good = TaskEventFromJson(json::parse(R"({"kind":"function","function":"F"})"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->function, "F");
  EXPECT_TRUE(good->argv.empty());
}

TEST(TaskProtocolTest, StdinTextOrBase64AndB64Wins) {
  TaskEvent e;
  e.argv = {"cat"};
  e.stdin_data = std::string("\x00\xff\x01", 3);  // not UTF-8: sent as stdin_b64
  json j = TaskEventToJson(e);
  EXPECT_TRUE(j["stdin"].is_null());
  EXPECT_EQ(j["stdin_b64"], Base64Encode(e.stdin_data));
  auto back = TaskEventFromJson(json::parse(j.dump()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->stdin_data, e.stdin_data);

  auto both = Event(R"({"argv":["cat"],"stdin":"text","stdin_b64":"aGk="})");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->stdin_data, "hi");
  auto bad = Event(R"({"argv":["cat"],"stdin_b64":"!!not base64!!"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("stdin_b64"), std::string::npos);
}

TEST(TaskProtocolTest, NewerVersionIsRefusedOlderAndUnknownFieldsAccepted) {
  auto newer = Event(R"({"v":2,"argv":["true"]})");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(newer.status().message().find("redeploy the worker"), std::string::npos);
  EXPECT_TRUE(Event(R"({"v":1,"argv":["true"],"later_field":{"x":1}})").ok());
}

TEST(TaskProtocolTest, ArgvIsRequiredUnlessTheEventIsStored) {
  auto none = Event(R"({"task_id":"t"})");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("argv"), std::string::npos);
  // An envelope of an oversized event carries only task_id, event_uri and result fields.
  auto envelope = Event(R"({"task_id":"t","event_uri":"s3://b/e.json","result_uri":"s3://b/r"})");
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  EXPECT_EQ(envelope->event_uri, "s3://b/e.json");
  // Other kinds need no argv.
  EXPECT_TRUE(Event(R"({"kind":"noop"})").ok());
}

TEST(TaskProtocolTest, WrongTypesNameTheField) {
  for (const char* text :
       {R"({"argv":["true"],"timeout_ms":"soon"})", R"({"argv":["true"],"env":["A=1"]})",
        R"({"argv":["true"],"files":[{"path":"a","size":"big"}]})"}) {
    auto e = Event(text);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find("field '"), std::string::npos) << e.status().message();
  }
  EXPECT_FALSE(TaskEventFromJson(json::array()).ok());
}

TEST(TaskProtocolTest, ResultRoundTripsEveryField) {
  TaskResult r;
  r.task_id = "job/3";
  r.outcome = Outcome::kTimedOut;
  r.signal = 9;
  r.stdout_data = "out";
  r.stderr_data = "err";
  r.stdout_truncated = true;
  r.stdout_bytes = 10;
  r.stderr_bytes = 3;
  r.wall_ms = 20;
  r.cpu_user_ms = 5;
  r.cpu_sys_ms = 2;
  r.max_rss_kb = 3000;
  r.cold = true;
  r.invocation_index = 4;
  r.env_id = "00ff00ff00ff00ff";
  r.error = "killed at the timeout";
  r.error_type = "std::runtime_error";
  r.returned = {{"out/a", "file:///o/a", std::string(64, 'b'), 5, false},
                {"out/missing", "", "", 0, true}};
  r.log_tail = "END RequestId";
  json j = TaskResultToJson(r);
  EXPECT_TRUE(j["exit_code"].is_null());  // documented: int or null
  EXPECT_FALSE(j["returned"][0].contains("missing"));
  EXPECT_EQ(j["returned"][1]["missing"], true);
  auto back = TaskResultFromJson(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task_id, r.task_id);
  EXPECT_EQ(back->outcome, Outcome::kTimedOut);
  EXPECT_FALSE(back->exit_code.has_value());
  EXPECT_EQ(back->signal, 9);
  EXPECT_EQ(back->stdout_data, "out");
  EXPECT_EQ(back->stderr_data, "err");
  EXPECT_TRUE(back->stdout_truncated);
  EXPECT_FALSE(back->stderr_truncated);
  EXPECT_EQ(back->stdout_bytes, 10u);
  EXPECT_EQ(back->stderr_bytes, 3u);
  EXPECT_EQ(back->wall_ms, 20);
  EXPECT_EQ(back->cpu_user_ms, 5);
  EXPECT_EQ(back->cpu_sys_ms, 2);
  EXPECT_EQ(back->max_rss_kb, 3000);
  EXPECT_TRUE(back->cold);
  EXPECT_EQ(back->invocation_index, 4);
  EXPECT_EQ(back->env_id, "00ff00ff00ff00ff");
  EXPECT_EQ(back->error, r.error);
  EXPECT_EQ(back->error_type, "std::runtime_error");
  ASSERT_EQ(back->returned.size(), 2u);
  EXPECT_EQ(back->returned[0].uri, "file:///o/a");
  EXPECT_EQ(back->returned[0].size, 5u);
  EXPECT_TRUE(back->returned[1].missing);
  EXPECT_EQ(back->log_tail, "END RequestId");
}

TEST(TaskProtocolTest, OutputWithNulBytesGoesAsBase64) {
  TaskResult r;
  r.stdout_data = std::string("a\0b", 3);  // valid UTF-8 but for the NUL
  json j = TaskResultToJson(r);
  EXPECT_TRUE(j["stdout"].is_null());
  EXPECT_EQ(j["stdout_b64"], Base64Encode(r.stdout_data));
  EXPECT_EQ(j["stderr"], "");
}

TEST(TaskProtocolTest, OutcomeNamesAndUnknownOutcome) {
  const Outcome all[] = {Outcome::kSucceeded,   Outcome::kFailed,      Outcome::kTimedOut,
                         Outcome::kOutOfMemory, Outcome::kCrashed,     Outcome::kThrottled,
                         Outcome::kTransport,   Outcome::kStagingError};
  for (Outcome o : all) EXPECT_EQ(ParseOutcome(OutcomeName(o)), o) << OutcomeName(o);
  EXPECT_STREQ(OutcomeName(Outcome::kOutOfMemory), "out_of_memory");
  EXPECT_EQ(ParseOutcome("exploded"), std::nullopt);
  auto r = TaskResultFromJson(json::parse(R"({"outcome":"exploded"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exploded"), std::string::npos);
}

// The bound a sender checks Lambda's payload limit with holds for the worst strings:
// control characters (6 bytes each), bytes that are not UTF-8 (replaced, and sent again
// as base64), every optional field, and numbers at their widest.
TEST(TaskProtocolTest, JsonBoundIsNeverBelowTheSerialisedSize) {
  std::string control;
  for (int c = 0; c < 32; ++c) control.push_back(static_cast<char>(c));
  const std::string not_utf8("\xff\xfe\xc3\x28\x80", 5);
  for (const std::string& s : {std::string(), control, not_utf8, control + not_utf8 + "\"\\"}) {
    TaskEvent e;
    e.task_id = s;
    e.kind = s.empty() ? "process" : s;
    e.function = s;
    e.argv = {s, s + s, ""};
    e.shell = true;
    e.env = {{s, s}, {"A", s}};
    e.stdin_data = s;
    e.cwd = s;
    e.timeout_ms = std::numeric_limits<int64_t>::max();
    e.max_output_bytes = std::numeric_limits<int64_t>::min();
    e.files = {{s, s, s, std::numeric_limits<uint64_t>::max(), true, true}};
    e.returns = {s, s};
    e.output_uri = s;
    e.result_uri = s;
    e.result_spill_only = true;
    e.event_uri = s;
    const std::string dumped =
        TaskEventToJson(e).dump(-1, ' ', false, json::error_handler_t::replace);
    const std::string ascii =
        TaskEventToJson(e).dump(-1, ' ', true, json::error_handler_t::replace);
    EXPECT_LE(dumped.size(), TaskEventJsonBound(e)) << dumped;
    EXPECT_LE(ascii.size(), TaskEventJsonBound(e)) << ascii;
  }
}

}  // namespace
}  // namespace parallelagram
