#include "driver/arg_shaping.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "driver/input_feed.h"
#include "driver/run_options.h"

namespace parallelagram::driver {
namespace {

RunOptions ShpParse(std::vector<std::string> args) {
  auto o = ParseRunArgs(args);
  EXPECT_TRUE(o.ok()) << o.status().message();
  return o.ok() ? std::move(o).value() : RunOptions{};
}

// Every task of `o`'s (whole) sources, each task's values joined by '|', with `jobs` slots.
std::vector<std::string> ShpTasks(const RunOptions& given, int jobs = 1) {
  RunOptions o = given;
  ApplyHeaderNames(&o);
  auto t = CommandTemplate::Parse(o.command, PositionLimit(o), o.shell);
  EXPECT_TRUE(t.ok()) << t.status().message();
  t->set_arg_mode(ArgModeOf(o));
  auto feed = InputFeed::Open(o.sources, o.link, ShapingOf(o, jobs, &*t));
  EXPECT_TRUE(feed.ok());
  std::vector<std::string> out, v;
  while ((*feed)->Pull(&v, true) == InputFeed::Next::kTask) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "|" : "") + v[i];
    out.push_back(s);
  }
  EXPECT_EQ((*feed)->known_total(), static_cast<int64_t>(out.size()));
  return out;
}

// The argv of task `values` for the command of `o` (its shaping applied).
std::vector<std::string> ShpArgv(const RunOptions& o, std::vector<std::string> values,
                                 int64_t seq = 1) {
  auto t = CommandTemplate::Parse(o.command, PositionLimit(o), o.shell);
  EXPECT_TRUE(t.ok()) << t.status().message();
  t->set_arg_mode(ArgModeOf(o));
  return t->Expand(TaskInputs{seq, 1, std::move(values)});
}

using V = std::vector<std::string>;

TEST(ArgShapingTest, PerSourceFilterHeaderEofAndContinuedLines) {
  ArgShaping s;
  s.header = true;
  s.eof = "STOP";
  EXPECT_EQ(FilterSource(s, {"name", "a", "b", "STOP", "c"}), (V{"a", "b"}));
  s.header = false;
  s.continue_lines = true;
  EXPECT_EQ(FilterSource(s, {"a", "b ", "c", "d\t", "STOP", "e"}), (V{"a", "b c", "d\t"}));
  EXPECT_EQ(FilterSource(s, {"x ", "y "}), (V{"x y "}));  // held to the end: still an input
  s.eof.clear();
  s.continue_lines = false;
  EXPECT_EQ(FilterSource(s, {"a ", "STOP"}), (V{"a ", "STOP"}));
}

TEST(ArgShapingTest, ColumnsAndTrimAsPerlSplit) {
  ArgShaping s;
  s.colsep = ",+";
  EXPECT_EQ(ShapeRecord(s, {"a,,b, c,", "x"}), (V{"a", "b", " c", "", "x"}));
  EXPECT_EQ(ShapeRecord(s, {""}), (V{""}));  // an empty line is one empty column
  s.trim_left = s.trim_right = true;
  EXPECT_EQ(ShapeRecord(s, {" a ,\tb\t"}), (V{"a", "b"}));
  s.colsep.clear();
  s.trim_left = false;
  EXPECT_EQ(ShapeRecord(s, {"  a  "}), (V{"  a"}));
}

TEST(ArgShapingTest, HeaderNamesBecomePositions) {
  RunOptions o = ShpParse({"--header", ":", "--colsep", ",", "echo", "{b}", "{a.}", "{c/}", "{zz}",
                           ":::", "a,b", "1,2.x", ":::", "c", "3/4"});
  ApplyHeaderNames(&o);
  EXPECT_EQ(o.command, (V{"echo", "{2}", "{1.}", "{3/}", "{zz}"}));
  // The header line is no input.
  RunOptions ok =
      ShpParse({"--header", ":", "--colsep", ",", "echo", "{b}", ":::", "a,b", "1,2", "3,4"});
  EXPECT_EQ(ShpTasks(ok), (V{"1|2", "3|4"}));
  // Without --colsep, GNU parallel splits at TABs.
  RunOptions tab = ShpParse({"--header", ":", "echo", "{x}", ":::", "x", "p\tq"});
  EXPECT_EQ(ShpTasks(tab), (V{"p|q"}));
}

TEST(ArgShapingTest, MaxArgsGroupsRecordsFlattened) {
  EXPECT_EQ(ShpTasks(ShpParse({"-N", "2", "echo", ":::", "a", "b", "c", "d", "e"})),
            (V{"a|b", "c|d", "e"}));
  EXPECT_EQ(ShpTasks(ShpParse({"-n3", "echo", ":::", "a", "b", "c", "d"})), (V{"a|b|c", "d"}));
  // Records of two sources: {1} {2} are the first record's values.
  EXPECT_EQ(ShpTasks(ShpParse({"-N2", "echo", ":::", "a", "b", "c", ":::", "x", "y"})),
            (V{"a|x|a|y", "b|x|b|y", "c|x|c|y"}));
  EXPECT_EQ(ShpTasks(ShpParse({"-N2", "--colsep", ",", "echo", ":::", "a,b", "c,d", "e,f"})),
            (V{"a|b|c|d", "e|f"}));
  EXPECT_EQ(ShpTasks(ShpParse({"-L", "2", "echo", ":::", "a", "b ", "c", "d", "e"})),
            (V{"a|b c", "d|e"}));
}

TEST(ArgShapingTest, FillSpreadsOverSlotsAsGnuParallel) {
  const V five = {"1", "2", "3", "4", "5"};
  auto with = [&](std::vector<std::string> opts) {
    opts.push_back("echo");
    opts.push_back(":::");
    opts.insert(opts.end(), five.begin(), five.end());
    return ShpParse(opts);
  };
  EXPECT_EQ(ShpTasks(with({"-X"}), 1), (V{"1|2|3|4|5"}));
  EXPECT_EQ(ShpTasks(with({"-X"}), 2), (V{"1|2|3", "4|5"}));
  EXPECT_EQ(ShpTasks(with({"-m"}), 3), (V{"1|2", "3|4", "5"}));
  EXPECT_EQ(ShpTasks(with({"--xargs"}), 3), (V{"1|2|3|4|5"}));
  EXPECT_EQ(ShpTasks(with({"-m", "-L", "2"}), 2), (V{"1|2", "3|4", "5"}));
}

TEST(ArgShapingTest, FillStopsAtTheLineLimit) {
  RunOptions o = ShpParse({"--xargs", "echo", ":::", "x"});
  const std::string big(40000, 'v');
  o.sources[0].values = {big, big, big, big, big, big, big};
  auto tasks = ShpTasks(o);
  // 40001 bytes each (and "echo"): three fit under kMaxLineBytes, four do not.
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0], big + "|" + big + "|" + big);
  EXPECT_EQ(tasks[2], big);
}

TEST(ArgShapingTest, ExpansionOfSeveralValues) {
  // -m: {} is every value, each its own word; text around it joins the first and the last.
  RunOptions m = ShpParse({"-m", "printf", "x{}y", "{2}", ":::", "a"});
  EXPECT_EQ(ShpArgv(m, {"a b", "c"}), (V{"printf", "xa b", "cy", "c"}));
  // -X: the word is repeated per value; positions are the task's.
  RunOptions x = ShpParse({"-X", "printf", "a{}b{1}", "{#}", ":::", "a"});
  EXPECT_EQ(ShpArgv(x, {"x", "y"}, 7), (V{"printf", "axbx", "aybx", "7"}));
  // -N: a position past the task's last value is no word at all (GNU parallel's shell).
  RunOptions n = ShpParse({"-N2", "printf", "{1}", "{2}", "{2}-", ":::", "a"});
  EXPECT_EQ(ShpArgv(n, {"c"}), (V{"printf", "c", "-"}));
  EXPECT_EQ(ShpArgv(n, {"c", ""}), (V{"printf", "c", "", "-"}));  // an empty input stays
  // Appended without replacement strings.
  RunOptions a = ShpParse({"-N3", "echo", ":::", "a"});
  EXPECT_EQ(ShpArgv(a, {"p", "q r"}), (V{"echo", "p", "q r"}));
  // With --shell: one line, every value quoted.
  RunOptions sh = ShpParse({"--shell", "-X", "echo", "p{}", ":::", "a"});
  EXPECT_EQ(ShpArgv(sh, {"a b", "c"}), (V{"echo p'a b' pc"}));
  // With --shell the part of the line repeated is the whitespace-delimited one.
  RunOptions shl = ShpParse({"--shell", "-X", "echo p{}q | tr a-z A-Z", ":::", "a"});
  EXPECT_EQ(ShpArgv(shl, {"a b", "c"}), (V{"echo p'a b'q pcq | tr a-z A-Z"}));
  RunOptions shm = ShpParse({"--shell", "-m", "echo", "p{}", "{3}", ":::", "a"});
  EXPECT_EQ(ShpArgv(shm, {"a b", "c"}), (V{"echo p'a b' c "}));
}

TEST(ArgShapingTest, BadValuesAreOneLineNamingTheOption) {
  struct Bad {
    std::vector<std::string> args;
    std::string names;
  };
  for (const Bad& b : std::vector<Bad>{{{"-N", "0"}, "-N"},
                                       {{"-N0"}, "-N"},
                                       {{"-n", "-1"}, "-n"},
                                       {{"--max-args", "x"}, "--max-args"},
                                       {{"-L", "0"}, "-L"},
                                       {{"--colsep", "("}, "--colsep"},
                                       {{"--colsep", ""}, "--colsep"},
                                       {{"--header", "[a"}, "--header"},
                                       {{"--trim", "x"}, "--trim"}}) {
    std::vector<std::string> args = b.args;
    for (const char* w : {"echo", ":::", "a"}) args.push_back(w);
    auto o = ParseRunArgs(args);
    ASSERT_FALSE(o.ok()) << b.args[0];
    EXPECT_NE(o.status().message().find(b.names), std::string::npos) << o.status().message();
    EXPECT_EQ(o.status().message().find('\n'), std::string::npos);
  }
}

TEST(ArgShapingTest, StreamedSourceIsShapedAsItArrives) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string data = "h\na,b\nc,d\ne,f\nSTOP\ng,h\n";
  ASSERT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  RunOptions o = ShpParse({"-N", "2", "--colsep", ",", "-E", "STOP", "echo", ":::", "x"});
  InputSource s;
  s.origin = "pipe";
  s.stream_path = "/dev/fd/" + std::to_string(fds[0]);
  o.sources = {s};
  auto t = CommandTemplate::Parse(o.command, PositionLimit(o), false);
  ASSERT_TRUE(t.ok());
  auto feed = InputFeed::Open(o.sources, false, ShapingOf(o, 1, &*t));
  ASSERT_TRUE(feed.ok());
  EXPECT_EQ((*feed)->known_total(), -1);
  std::vector<std::string> v;
  ASSERT_EQ((*feed)->Pull(&v, true), InputFeed::Next::kTask);
  EXPECT_EQ(v, (V{"h", "a", "b"}));  // two records; no --header here: "h" is an input
  ASSERT_EQ((*feed)->Pull(&v, true), InputFeed::Next::kTask);
  EXPECT_EQ(v, (V{"c", "d", "e", "f"}));  // then -E's string ends the input
  EXPECT_EQ((*feed)->Pull(&v, true), InputFeed::Next::kEnd);
  EXPECT_EQ((*feed)->known_total(), 2);
  ::close(fds[0]);
}

}  // namespace
}  // namespace parallelagram::driver
