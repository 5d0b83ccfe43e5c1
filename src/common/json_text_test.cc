#include "common/json_text.h"

#include <gtest/gtest.h>

#include "parallelagram/task.h"

namespace parallelagram {
namespace {

using json = nlohmann::json;

TEST(JsonTextTest, DumpLenientNeverThrowsOnBytesThatAreNotUtf8) {
  json j = {{"message", std::string("bad \xff byte")}, {"k", {std::string("\xc3")}}};
  EXPECT_THROW((void)j.dump(), json::type_error);  // what nlohmann's plain dump() does
  std::string text = DumpLenient(j);
  EXPECT_EQ(json::parse(text)["message"], "bad \xEF\xBF\xBD byte");
  EXPECT_NE(DumpLenient(j, 2).find('\n'), std::string::npos);
}

TEST(JsonTextTest, BytesRoundTripLosslessly) {
  for (std::string s : {std::string("plain"), std::string("\xff"), std::string("caf\xe9"),
                        std::string("a\0b", 3), std::string("\xe2\x82\xac"), std::string()}) {
    json j = BytesToJson(s);
    json back = json::parse(j.dump());  // strict dump: it is valid UTF-8 now
    EXPECT_EQ(BytesFromJson(back).value(), s);
  }
  EXPECT_TRUE(BytesToJson("ok").is_string());
  EXPECT_TRUE(BytesToJson("\xff").is_object());
  EXPECT_FALSE(BytesFromJson(json(5)).has_value());
  EXPECT_FALSE(BytesFromJson(json{{"b64", "!!"}}).has_value());
  std::vector<std::string> v = {"a", "\xfe\xff", ""};
  EXPECT_EQ(BytesArrayFromJson(json::parse(BytesArrayToJson(v).dump())).value(), v);
  EXPECT_FALSE(BytesArrayFromJson(json::array({1})).has_value());
}

TEST(JsonTextTest, EscapeForMessageShowsNulAndBadBytes) {
  EXPECT_EQ(EscapeForMessage(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeForMessage("x\xffy\n"), "x\\xffy\\x0a");
  EXPECT_EQ(EscapeForMessage("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(TaskCodecTest, ArgvThatIsNotUtf8TravelsAsBase64) {
  TaskEvent e;
  e.argv = {"echo", "\xff", "caf\xe9"};
  json j = TaskEventToJson(e);
  ASSERT_TRUE(j.contains("argv_b64"));
  // On the wire: the lenient text (what the invoker sends), parsed by the worker.
  auto back = TaskEventFromJson(json::parse(DumpLenient(j)));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->argv, e.argv);
  TaskEvent plain;
  plain.argv = {"echo", "hi"};
  EXPECT_FALSE(TaskEventToJson(plain).contains("argv_b64"));
}

TEST(TaskCodecTest, FileNamesThatAreNotUtf8TravelAsBase64) {
  TaskEvent e;
  e.argv = {"cat"};
  e.files.push_back({"in/bad\xffname.txt", "file:///cas/ab", "ab", 2});
  json j = TaskEventToJson(e);
  EXPECT_TRUE(j["files"][0].contains("path_b64"));
  auto back = TaskEventFromJson(json::parse(DumpLenient(j)));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->files.at(0).path, "in/bad\xffname.txt");
  e.returns = {"out/bad\xff.n"};
  auto with_returns = TaskEventFromJson(json::parse(DumpLenient(TaskEventToJson(e))));
  ASSERT_TRUE(with_returns.ok());
  EXPECT_EQ(with_returns->returns, e.returns);
  TaskResult r;
  r.returned.push_back({"out/caf\xe9.n", "file:///r", "cd", 3});
  auto rback = TaskResultFromJson(json::parse(DumpLenient(TaskResultToJson(r))));
  ASSERT_TRUE(rback.ok()) << rback.status().message();
  EXPECT_EQ(rback->returned.at(0).path, "out/caf\xe9.n");
  // A URI holds a file name too: a --pipe-part file used in place, a returned file's URI.
  e.files.push_back({".pg-pipe/block", "file:///data/sp ace\xff.txt", "", 5});
  auto uri_back = TaskEventFromJson(json::parse(DumpLenient(TaskEventToJson(e))));
  ASSERT_TRUE(uri_back.ok()) << uri_back.status().message();
  EXPECT_EQ(uri_back->files.at(1).uri, "file:///data/sp ace\xff.txt");
  r.returned.push_back({"out/x\xff.n", "file:///r/out/x\xff.n", "cd", 3});
  auto ruri = TaskResultFromJson(json::parse(DumpLenient(TaskResultToJson(r))));
  ASSERT_TRUE(ruri.ok()) << ruri.status().message();
  EXPECT_EQ(ruri->returned.at(1).uri, "file:///r/out/x\xff.n");
  TaskEvent plain;
  plain.files.push_back({"a.txt", "file:///cas/ab", "ab", 2});
  EXPECT_EQ(TaskEventToJson(plain)["files"][0]["path"], "a.txt");
}

}  // namespace
}  // namespace parallelagram
