#include "driver/command_template.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace parallelagram::driver {
namespace {

std::vector<std::string> Expand(std::vector<std::string> words, std::vector<std::string> values,
                                bool shell = false, int64_t seq = 1, int slot = 1) {
  auto t = CommandTemplate::Parse(std::move(words), static_cast<int>(values.size()), shell);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return {};
  return t->Expand(TaskInputs{seq, slot, values});
}

TEST(ShellQuoteTest, MatchesGnuParallelRules) {
  EXPECT_EQ(ShellQuote("abc-1.2_x+/y"), "abc-1.2_x+/y");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\"'\"'s'");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(ShellQuote("%"), "'%'");
  EXPECT_EQ(ShellQuote("é"), "'é'");
}

TEST(CommandTemplateTest, ReplacementStrings) {
  EXPECT_EQ(Expand({"echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"}, {"a/b.c"}, false, 7, 2),
            (std::vector<std::string>{"echo", "a/b.c", "a/b", "b.c", "a", "b", "7", "2"}));
  EXPECT_EQ(Expand({"x{}y"}, {"a b"}), (std::vector<std::string>{"xa by"}));
  EXPECT_EQ(Expand({"echo", "{2}", "{1}", "{1.}", "{2/}"}, {"a.x", "c/d.e"}),
            (std::vector<std::string>{"echo", "c/d.e", "a.x", "a", "d.e"}));
}

TEST(CommandTemplateTest, TransformsLikeGnuParallel) {
  // Expected values from GNU parallel 20221122.
  struct Case { const char* in; const char* dot; const char* base; const char* dir; const char* bdot; };
  const Case cases[] = {{".bashrc", "", ".bashrc", ".", ""},  {"a/b/", "a/b/", "", "a", ""},
                        {"/x", "/x", "x", "/", "x"},          {"x/.y", "x/", ".y", "x", ""},
                        {"a.b/c", "a.b/c", "c", "a.b", "c"},  {"/a/b.c//", "/a/b.c//", "", "/a", ""},
                        {"", "", "", ".", ""},                {"/", "/", "", "/", ""}};
  for (const auto& c : cases) {
    EXPECT_EQ(CommandTemplate::Transform(c.in, "."), c.dot) << c.in;
    EXPECT_EQ(CommandTemplate::Transform(c.in, "/"), c.base) << c.in;
    EXPECT_EQ(CommandTemplate::Transform(c.in, "//"), c.dir) << c.in;
    EXPECT_EQ(CommandTemplate::Transform(c.in, "/."), c.bdot) << c.in;
  }
}

TEST(CommandTemplateTest, NoReplacementAppendsInputs) {
  EXPECT_EQ(Expand({"echo", "-n"}, {"a b", "c"}), (std::vector<std::string>{"echo", "-n", "a b", "c"}));
  EXPECT_EQ(Expand({"echo"}, {"it's"}, true), (std::vector<std::string>{"echo 'it'\"'\"'s'"}));
}

TEST(CommandTemplateTest, NoShellNeverInterprets) {
  EXPECT_EQ(Expand({"echo", "{}"}, {"$(rm -rf /) *; `x`"}),
            (std::vector<std::string>{"echo", "$(rm -rf /) *; `x`"}));
  EXPECT_EQ(Expand({"printf", "%s\\n", "{}"}, {"--help"}),
            (std::vector<std::string>{"printf", "%s\\n", "--help"}));
}

TEST(CommandTemplateTest, ShellQuotesInputsAsOneWord) {
  EXPECT_EQ(Expand({"echo {} > {}.out"}, {"a b"}, true),
            (std::vector<std::string>{"echo 'a b' > 'a b'.out"}));
  EXPECT_EQ(Expand({"echo", "{}"}, {"a", "c d"}, true), (std::vector<std::string>{"echo a 'c d'"}));
}

TEST(CommandTemplateTest, BracesThatAreNotReplacementsStayLiteral) {
  EXPECT_EQ(Expand({"awk", "{print $1}", "{}"}, {"f"}),
            (std::vector<std::string>{"awk", "{print $1}", "f"}));
  EXPECT_EQ(Expand({"echo", "{", "}", "{}"}, {"x"}), (std::vector<std::string>{"echo", "{", "}", "x"}));
}

TEST(CommandTemplateTest, RejectsUnknownReplacementStrings) {
  for (const char* bad : {"{foo}", "{1x}", "{.x}", "{3}", "{0}", "{///}"}) {
    auto t = CommandTemplate::Parse({"echo", bad}, 2, false);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.status().message().find(bad), std::string::npos) << t.status().message();
  }
  EXPECT_FALSE(CommandTemplate::Parse({}, 1, false).ok());
}

TEST(CommandTemplateTest, DescribeQuotesArgv) {
  auto t = CommandTemplate::Parse({"echo", "{}"}, 1, false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Describe(TaskInputs{1, 1, {"a b"}}), "echo 'a b'");
}

TEST(ExpandPathTest, Works) {
  auto p = ExpandPath("out/{/.}.txt", TaskInputs{1, 1, {"in/x.csv"}}, 1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "out/x.txt");
  EXPECT_EQ(*ExpandPath("fixed", TaskInputs{1, 1, {"a"}}, 1), "fixed");
  EXPECT_FALSE(ExpandPath("{bad}", TaskInputs{1, 1, {"a"}}, 1).ok());
}

// Runs GNU parallel --dry-run and returns its output, or "" when it is not installed.
std::string GnuDryRun(const std::vector<std::string>& args) {
  if (access("/usr/bin/parallel", X_OK) != 0) return "";
  std::string cmd = "/usr/bin/parallel --will-cite -k --dry-run";
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  cmd += " 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// The same command lines give GNU parallel's command lines (our --shell mode is GNU's).
TEST(CommandTemplateTest, AgreesWithGnuParallelDryRun) {
  const std::vector<std::string> inputs = {"plain", "a b", "it's", "$HOME", "-n", "é x",
                                           "a/b.c", "d.e.f", "x*y", "tab\there", ""};
  const std::vector<std::vector<std::string>> commands = {
      {"echo", "{}", "{.}", "{/}", "{//}", "{/.}", "x{}y"}, {"echo"}};
  for (const auto& cmd : commands) {
    std::vector<std::string> args = cmd;
    args.push_back(":::");
    for (const auto& in : inputs) args.push_back(in);
    std::string gnu = GnuDryRun(args);
    if (gnu.empty()) GTEST_SKIP() << "GNU parallel is not installed";
    auto t = CommandTemplate::Parse(cmd, 1, true);
    ASSERT_TRUE(t.ok());
    std::string ours;
    for (size_t i = 0; i < inputs.size(); ++i) {
      ours += t->Describe(TaskInputs{static_cast<int64_t>(i + 1), 1, {inputs[i]}}) + "\n";
    }
    EXPECT_EQ(ours, gnu);
  }
}

TEST(QuotedReplacementWarningTest, WarnsWhenAShellTemplateQuotesAnInput) {
  EXPECT_NE(QuotedReplacementWarning({"echo \"{}\""}).find("remove the quotes around {}"),
            std::string::npos);
  EXPECT_NE(QuotedReplacementWarning({"echo", "'x {1/.}'"}).find("around {1/.}"),
            std::string::npos);
  EXPECT_NE(QuotedReplacementWarning({"echo \"a b {.} c\""}).find("{.}"), std::string::npos);
  EXPECT_EQ(QuotedReplacementWarning({"echo {}"}), "");
  EXPECT_EQ(QuotedReplacementWarning({"echo '{#}' \"{%}\" {}"}), "");
  EXPECT_EQ(QuotedReplacementWarning({"awk '{print $1}' {}"}), "");
  EXPECT_EQ(QuotedReplacementWarning({"echo \\\"{}"}), "");  // an escaped quote
  EXPECT_EQ(QuotedReplacementWarning({"echo 'it''s' {}"}), "");
}

}  // namespace
}  // namespace parallelagram::driver
