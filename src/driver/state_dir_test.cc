// JobState's manifest (written at once, line by line) and AlignWithManifest (the records kept
// beside the manifest, brought back in line with it on resume), with ResultsDir's and
// JoblogWriter's use of it.
#include "driver/state_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "driver/job_record.h"
#include "driver/joblog.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void Put(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

// A manifest line as ResultLine writes it, for task `seq`.
std::string Line(int64_t seq, bool big = false) {
  json j = {{"job_id", "j"},
            {"seq", seq},
            {"args", {std::to_string(seq)}},
            {"command", "echo"},
            {"outcome", "failed"},
            {"exit_code", 3},
            {"signal", nullptr},
            {"attempts", 1},
            {"invocations", 1},
            {"start", 1795635560.451 + static_cast<double>(seq)},
            {"runtime_s", 0.023},
            {"stdout_bytes", 2},
            {"stderr_bytes", 0}};
  if (big) {
    j["stdout_file"] = "/state/output/" + std::to_string(seq) + ".stdout";
  } else {
    j["stdout"] = std::to_string(seq) + "\n";
  }
  j["stderr"] = "";
  return JsonLine(j);
}

int64_t SeqOf(std::string_view l) {
  json j = json::parse(l, nullptr, false);
  return j.is_object() && j.contains("seq") ? j["seq"].get<int64_t>() : 0;
}

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pg_state_dir_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/state");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Manifest(std::initializer_list<int64_t> seqs) {
    std::string m;
    for (int64_t s : seqs) m += Line(s) + "\n";
    Put(dir_ + "/state/results.jsonl", m);
    return m;
  }
  std::string dir_;
};

TEST_F(StateDirTest, ManifestLinesAreInTheFileAtOnce) {
  JobState st;
  ASSERT_TRUE(st.Create(dir_, "job").ok());
  ASSERT_TRUE(st.OpenTasks().ok());
  for (int64_t s = 1; s <= 3; ++s) st.AppendTask("{\"seq\":" + std::to_string(s) + "}");
  // Back to back, well within the old 100 ms batching: each is in the file (the kernel) as
  // soon as AppendResults returns, so a SIGKILL now loses none.
  for (int64_t s = 1; s <= 3; ++s) {
    ASSERT_TRUE(st.AppendResults(Line(s) + "\n").ok());
    std::string data = Slurp(dir_ + "/jobs/job/results.jsonl");
    EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), s);
    // The tasks' own lines are out before any result line.
    std::string tasks = Slurp(dir_ + "/jobs/job/tasks.jsonl");
    EXPECT_EQ(std::count(tasks.begin(), tasks.end(), '\n'), 3);
  }
}

TEST_F(StateDirTest, AlignKeepsManifestTasksOnceInManifestOrder) {
  Manifest({3, 1, 2});
  const std::string path = dir_ + "/record.jsonl";
  // 1 twice, 9 not in the manifest, 2 missing (killed between the two writes), a torn tail.
  Put(path, Line(1) + "\nown-3\n" + Line(1) + "\n" + Line(9) + "\n" + Line(4).substr(0, 20));
  auto seq_of = [](std::string_view l) -> int64_t { return l == "own-3" ? 3 : SeqOf(l); };
  int made = 0;
  auto make = [&made](const json& m) {
    ++made;
    return "made-" + std::to_string(m["seq"].get<int64_t>()) + "\n";
  };
  ASSERT_TRUE(AlignWithManifest(dir_ + "/state", path, "", seq_of, make).ok());
  EXPECT_EQ(Slurp(path), "own-3\n" + Line(1) + "\nmade-2\n");
  EXPECT_EQ(made, 1);
  EXPECT_FALSE(fs::exists(path + ".align.tmp"));
}

TEST_F(StateDirTest, AlignLeavesAnAlignedFileAlone) {
  Manifest({1, 2});
  const std::string path = dir_ + "/record.jsonl";
  Put(path, "HEAD\n" + Line(1) + "\n" + Line(2) + "\n");
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  auto make = [](const json&) -> std::string {
    ADD_FAILURE() << "nothing is missing";
    return "";
  };
  ASSERT_TRUE(AlignWithManifest(dir_ + "/state", path, "HEAD\n", SeqOf, make).ok());
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not rewritten
  EXPECT_EQ(Slurp(path), "HEAD\n" + Line(1) + "\n" + Line(2) + "\n");
}

TEST_F(StateDirTest, AlignWithoutManifestOrRecord) {
  const std::string path = dir_ + "/joblog";
  // No manifest (killed before the first result): the record is emptied, the header kept.
  Put(path, JoblogHeader() + "1\t:\t1.000\t     0.023\t0\t2\t0\t0\techo\n");
  ASSERT_TRUE(AlignWithManifest(dir_ + "/state", path, JoblogHeader(), SeqOf, nullptr).ok());
  EXPECT_EQ(Slurp(path), JoblogHeader());
  // No record yet: made from the manifest, header first.
  Manifest({2});
  fs::remove(path);
  auto make = [](const json& m) { return JoblogLineFromManifest(m, ":"); };
  ASSERT_TRUE(AlignWithManifest(dir_ + "/state", path, JoblogHeader(), SeqOf, make).ok());
  EXPECT_EQ(Slurp(path), JoblogHeader() + "2\t:\t1795635562.451\t     0.023\t0\t2\t3\t0\techo\n");
}

TEST_F(StateDirTest, JoblogLineFromManifestIsTheLineJoblogLineWrote) {
  TaskRecord rec;
  rec.seq = 7;
  rec.start_epoch_ms = 1795635560451;
  rec.runtime_ms = 1322;
  for (Outcome o : {Outcome::kSucceeded, Outcome::kFailed, Outcome::kTimedOut, Outcome::kCrashed,
                    Outcome::kStagingError}) {
    rec.result = TaskResult{};
    rec.result.outcome = o;
    rec.result.stdout_bytes = 12;
    if (o == Outcome::kFailed) rec.result.exit_code = 2;
    if (o == Outcome::kCrashed || o == Outcome::kTimedOut) rec.result.signal = 9;
    FinishedTask ft;
    ft.rec = &rec;
    ft.command = "echo a\tb\nc";
    json m = json::parse(JsonLine(ResultLine("j", ft, "", "")));
    EXPECT_EQ(JoblogLineFromManifest(m, "lambda:f"), JoblogLine(rec, "lambda:f", 0, ft.command))
        << OutcomeName(o);
  }
}

TEST_F(StateDirTest, ResultsDirAlignMovesFilesAndDropsUnrecordedTaskDirs) {
  Put(dir_ + "/state/results.jsonl", Line(1) + "\n" + Line(2, /*big=*/true) + "\n");
  const std::string res = dir_ + "/res";
  ResultsDir rd;
  ASSERT_TRUE(rd.Open(res).ok());
  fs::create_directories(res + "/3");  // task 3 ran, but its manifest line was never written
  Put(res + "/3/stdout", "partial");
  fs::create_directories(res + "/1");
  Put(res + "/1/stdout", "1\n");
  Put(res + "/results.jsonl", Line(1) + "\n" + Line(3) + "\n");
  ASSERT_TRUE(rd.AlignWithManifest(dir_ + "/state", {1, 1, 0}).ok());
  json two = json::parse(Line(2, true));
  two["stdout_file"] = res + "/2/stdout";
  EXPECT_EQ(Slurp(res + "/results.jsonl"), Line(1) + "\n" + JsonLine(two) + "\n");
  EXPECT_FALSE(fs::exists(res + "/3"));
  EXPECT_TRUE(fs::exists(res + "/1/stdout"));
  // Reopened: a new line goes after the aligned ones, in the new file.
  ASSERT_TRUE(rd.AppendLines(JsonLine(json::parse(Line(3))) + "\n").ok());
  EXPECT_EQ(Slurp(res + "/results.jsonl"), Line(1) + "\n" + JsonLine(two) + "\n" + Line(3) + "\n");
}

TEST_F(StateDirTest, JoblogWriterAlignsAndReopens) {
  Manifest({1, 2});
  const std::string path = dir_ + "/joblog";
  {
    JoblogWriter w;
    ASSERT_TRUE(w.Open(path).ok());
    ASSERT_TRUE(w.Write(JoblogLineFromManifest(json::parse(Line(1)), ":")).ok());
    ASSERT_TRUE(w.Write(JoblogLineFromManifest(json::parse(Line(1)), ":")).ok());
    ASSERT_TRUE(w.Write(JoblogLineFromManifest(json::parse(Line(5)), ":")).ok());
  }
  JoblogWriter w;
  ASSERT_TRUE(w.Open(path, /*append=*/true).ok());
  ASSERT_TRUE(w.AlignWithManifest(dir_ + "/state", ":").ok());
  ASSERT_TRUE(w.Write(JoblogLineFromManifest(json::parse(Line(3)), ":")).ok());
  std::string want = JoblogHeader();
  for (int64_t s : {1, 2, 3}) want += JoblogLineFromManifest(json::parse(Line(s)), ":");
  EXPECT_EQ(Slurp(path), want);
}

// Inside Lambda there is no HOME and only /tmp is writable: the state goes under $TMPDIR.
TEST(ResolveStateRootTest, WithoutHomeTheStateGoesUnderTmpdir) {
  struct Saved {
    std::string name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* n : {"HOME", "XDG_STATE_HOME", "TMPDIR"}) {
    const char* v = std::getenv(n);
    saved.push_back({n, v ? std::optional<std::string>(v) : std::nullopt});
  }
  const std::string tmp = ::testing::TempDir() + "/pg-state-root-test-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  unsetenv("HOME");
  unsetenv("XDG_STATE_HOME");
  setenv("TMPDIR", tmp.c_str(), 1);
  auto root = ResolveStateRoot("");
  const std::string want = tmp + "/parallelagram-" + std::to_string(geteuid());
  struct stat st {};
  const bool private_dir = stat(want.c_str(), &st) == 0 && (st.st_mode & 0777) == 0700;
  // A file in its place is refused, not written through.
  fs::remove_all(want);
  std::ofstream(want) << "x";
  auto refused = ResolveStateRoot("");
  for (const auto& s : saved) {
    if (s.value) {
      setenv(s.name.c_str(), s.value->c_str(), 1);
    } else {
      unsetenv(s.name.c_str());
    }
  }
  ASSERT_TRUE(root.ok()) << root.status().message();
  EXPECT_EQ(*root, fs::path(want).lexically_normal().string());
  EXPECT_TRUE(private_dir);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--state-dir"), std::string::npos);
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace parallelagram::driver
