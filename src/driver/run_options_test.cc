#include "driver/run_options.h"

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

Result<RunOptions> Parse(std::vector<std::string> a) { return ParseRunArgs(a); }

TEST(RunOptionsTest, GnuParallelShape) {
  auto o = Parse({"-j", "4", "-k", "--timeout", "2.5", "--retries=3", "--", "echo", "-n", "{}",
                  ":::", "a", "b", ":::", "1"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->jobs, 4);
  EXPECT_TRUE(o->keep_order);
  EXPECT_DOUBLE_EQ(o->timeout_s, 2.5);
  EXPECT_EQ(o->retries, 3);
  EXPECT_EQ(o->command, (std::vector<std::string>{"echo", "-n", "{}"}));
  ASSERT_EQ(o->sources.size(), 2u);
  EXPECT_EQ(o->sources[0].values, (std::vector<std::string>{"a", "b"}));
}

TEST(RunOptionsTest, CommandStartsAtFirstNonOption) {
  auto o = Parse({"-j2", "--bf", "tool", "--tf", "{}", "--return", "{}.out", "--cleanup", "wc",
                  "-l", ":::", "--x", "-y"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->jobs, 2);
  EXPECT_EQ(o->command, (std::vector<std::string>{"wc", "-l"}));
  EXPECT_EQ(o->sources[0].values, (std::vector<std::string>{"--x", "-y"}));
  EXPECT_EQ(o->basefiles, std::vector<std::string>{"tool"});
  EXPECT_TRUE(o->cleanup);
}

TEST(RunOptionsTest, GnuOutputAndStatusOptions) {
  auto o = Parse({"--lb", "--eta", "echo", ":::", "a"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->line_buffer);
  EXPECT_FALSE(o->ungroup);
  EXPECT_TRUE(o->eta);
  EXPECT_FALSE(o->bar);
  EXPECT_EQ(o->option_args, (std::vector<std::string>{"--line-buffer", "--eta"}));
  o = Parse({"-u", "--bar", "-k", "echo", ":::", "a"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->ungroup);
  EXPECT_FALSE(o->line_buffer);
  EXPECT_TRUE(o->bar);
  o = Parse({"--line-buffer", "--ungroup=1", "echo", ":::", "a"});
  EXPECT_FALSE(o.ok());  // a flag takes no value
}

TEST(RunOptionsTest, HelpNeedsNothingElse) {
  auto o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

TEST(RunOptionsTest, BadInputIsOneLineSayingWhatToDo) {
  const std::vector<std::vector<std::string>> bad = {
      {"--frobnicate", "echo", ":::", "a"},   // unknown option
      {"echo", ":::"},                        // ::: without inputs
      {"echo", ":::", "a", ":::"},            // second ::: without inputs
      {":::", "a"},                           // no command
      {"echo", "::::", "/nonexistent/file"},  // unreadable :::: file
      {"echo", "::::"},                       // :::: without a file
      {"-j", "0", "echo", ":::", "a"},        // bad -j
      {"-j", "x", "echo", ":::", "a"},
      {"--timeout", "-1", "echo", ":::", "a"},
      {"--timeout", "1000", "echo", ":::", "a"},  // over Lambda's limit
      {"--retries", "x", "echo", ":::", "a"},
      {"--halt", "sometimes", "echo", ":::", "a"},
      {"--job-id", "../x", "echo", ":::", "a"},
      {"-q", "--progress", "echo", ":::", "a"},  // conflicting
      {"--cleanup", "echo", ":::", "a"},         // nothing to clean
      {"--bucket", "b", "echo", ":::", "a"},     // AWS only
      {"--mode", "later", "echo", ":::", "a"},
      {"--backend", "mars", "echo", ":::", "a"},
      {"--bf", "{}", "echo", ":::", "a"},      // per-task basefile
      {"--jobs"},                              // missing value
      {"-k=1", "echo", ":::", "a"},            // flag with a value
      {"--lb", "-u", "echo", ":::", "a"},      // lines or raw bytes: one
      {"--lb", "--json", "echo", ":::", "a"},  // live output vs one event per task
      {"-u", "--files", "--results", "r", "echo", ":::", "a"},
      {"--eta", "-q", "echo", ":::", "a"},  // a display and none
      {"--bar", "--quiet", "echo", ":::", "a"},
  };
  for (const auto& args : bad) {
    auto o = Parse(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    ASSERT_FALSE(o.ok()) << joined;
    EXPECT_EQ(o.status().message().find('\n'), std::string::npos) << joined;
    EXPECT_GT(o.status().message().size(), 20u) << joined;
  }
}

TEST(HaltPolicyTest, ParsesGnuForms) {
  auto p = HaltPolicy::Parse("now,fail=1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->when, HaltPolicy::When::kNow);
  EXPECT_TRUE(p->ShouldHalt(1, 0, 10));
  EXPECT_FALSE(p->ShouldHalt(0, 5, 10));
  auto s = HaltPolicy::Parse("soon,fail=20%");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->when, HaltPolicy::When::kSoon);
  EXPECT_FALSE(s->ShouldHalt(1, 3, 10));
  EXPECT_TRUE(s->ShouldHalt(2, 3, 10));
  auto w = HaltPolicy::Parse("now,success=2");
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->ShouldHalt(5, 1, 10));
  EXPECT_TRUE(w->ShouldHalt(0, 2, 10));
  EXPECT_FALSE(HaltPolicy::Parse("never")->ShouldHalt(100, 0, 100));
  for (const char* bad : {"now", "now,fail", "now,fail=0", "later,fail=1", "now,fail=x",
                          "now,fail=120%", "now,crash=1", "now,fail=1.5"}) {
    EXPECT_FALSE(HaltPolicy::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace parallelagram::driver
