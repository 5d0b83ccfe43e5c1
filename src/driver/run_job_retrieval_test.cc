// RunJob's retrieval and staging against a fake backend whose store counts its requests:
// a sync task costs no store request unless its response was cut (then one GET and one
// DELETE of the full result); --no-download leaves outputs in the store with their URIs in
// the manifest; the staging summary line and bundling when the backend asks for them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "driver/run_job.h"
#include "driver/testing.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::Slurp;

constexpr size_t kBig = 300'000;

// The "worker": argv[1] "big" prints kBig bytes and, like the real worker over Lambda's
// response limit, stores the full result at result_uri and answers with a cut one; "many"
// prints 10 bytes that --max-output cut to 4 (complete as asked); else echoes argv[1..].
// Every --return path gets a file in the store.
std::pair<int64_t, TaskResult> AwsWorker(const TaskEvent& e, int, ObjectStore& store) {
  TaskResult r = testing::Exited(0);
  const std::string what = e.argv.size() > 1 ? e.argv[1] : "";
  if (what == "big") {
    r.stdout_data = std::string(kBig, 'b');
    r.stdout_bytes = kBig;
    EXPECT_TRUE(e.result_spill_only);
    testing::PutContent(store, e.result_uri, TaskResultToJson(r).dump());
    r.stdout_data.resize(1000);  // the cut response
    r.stdout_truncated = true;
  } else if (what == "notjson" || what == "notresult") {
    // A broken worker: what it stored is not a task result.
    testing::PutContent(store, e.result_uri, what == "notjson" ? "{not json" : R"({"v":1})");
    r.stdout_data = "cut-" + what;
    r.stdout_bytes = kBig;
    r.stdout_truncated = true;
  } else if (what == "many") {
    r.stdout_data = "mmmm";
    r.stdout_bytes = 10;
    r.stdout_truncated = true;
  } else {
    r.stdout_data = what + "\n";
    r.stdout_bytes = r.stdout_data.size();
  }
  testing::StoreReturns(store, e, &r);
  return {1, r};
}

// RunJob on the "aws" backend's options against AwsWorker, with a store (dir_/store) that
// counts its requests (log_.gets, log_.deletes); the current directory is dir_/work.
class RunRetrievalTest : public testing::RunJobFixture {
 protected:
  RunRetrievalTest() : RunJobFixture("retrieval", "work") {
    worker_ = AwsWorker;
    host_ = "lambda";
  }
  void SetUp() override {
    RunJobFixture::SetUp();
    store_root_ = (dir_ / "store").string();
  }

  int Run(std::vector<std::string> args, StagingOptions staging = {}) {
    args.insert(args.begin(), {"--backend", "aws"});
    staging_ = std::move(staging);
    return RunJobFixture::Run(std::move(args));
  }
  // Regular files under the store's `rel` directory.
  int FilesUnder(const std::string& rel) {
    int n = 0;
    std::error_code ec;
    if (!fs::is_directory(dir_ / "store" / rel, ec)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "store" / rel)) {
      n += e.is_regular_file() ? 1 : 0;
    }
    return n;
  }
  std::vector<json> Manifest(const std::string& job) {
    std::vector<json> out;
    std::ifstream f(dir_ / "state" / "jobs" / job / "results.jsonl");
    for (std::string line; std::getline(f, line);) out.push_back(json::parse(line));
    return out;
  }
};

TEST_F(RunRetrievalTest, OnlyACutResponseCostsStoreRequests) {
  ASSERT_EQ(Run({"-k", "--job-id", "cut", "--", "echo", ":::", "a", "b", "big", "c"}), 0);
  EXPECT_EQ(log_.gets, 1) << "one GET: the cut task's full result";
  EXPECT_EQ(log_.deletes, 1) << "one DELETE: that result object";
  ASSERT_EQ(out_.size(), 4 + kBig + 2);
  EXPECT_TRUE(out_ == "a\nb\n" + std::string(kBig, 'b') + "c\n") << "output differs";
  // The result object is gone and no temporary is left in the state dir.
  EXPECT_EQ(FilesUnder("jobs/cut/results"), 0);
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "state")) {
    EXPECT_EQ(e.path().filename().string().rfind(".result", 0), std::string::npos) << e.path();
  }
  auto m = Manifest("cut");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_FALSE(m[2].contains("result_uri"));
  ASSERT_TRUE(m[2].contains("stdout_file")) << m[2].dump().substr(0, 300);
  EXPECT_TRUE(Slurp(m[2]["stdout_file"]) == std::string(kBig, 'b'));

  // Output cut by --max-output alone is complete as asked: nothing to fetch.
  ASSERT_EQ(Run({"--max-output", "4", "--job-id", "max", "--", "echo", ":::", "many", "x"}), 0);
  EXPECT_EQ(log_.gets, 0);
  EXPECT_EQ(log_.deletes, 0);
}

TEST_F(RunRetrievalTest, AStoredFullResultThatIsNotOneIsReportedAndTheCutOneShown) {
  ASSERT_EQ(Run({"-k", "--job-id", "bad", "--", "echo", ":::", "notjson", "notresult"}), 0);
  EXPECT_TRUE(out_ == "cut-notjsoncut-notresult") << out_;
  EXPECT_NE(err_.find("the stored full result is not JSON, so it is shown cut"), std::string::npos)
      << err_;
  EXPECT_NE(err_.find("the stored full result is not a task result ("), std::string::npos) << err_;
}

TEST_F(RunRetrievalTest, NoDownloadLeavesOutputsInTheStoreWithTheirUris) {
  ASSERT_EQ(Run({"--no-download", "--job-id", "nd", "--return", "{}.out", "--", "echo", ":::", "x",
                 "big"}),
            0);
  EXPECT_EQ(log_.gets, 0);
  EXPECT_EQ(log_.deletes, 0);
  EXPECT_FALSE(fs::exists("x.out"));
  EXPECT_FALSE(fs::exists("big.out"));
  auto m = Manifest("nd");
  ASSERT_EQ(m.size(), 2u);
  for (const auto& line : m) {
    ASSERT_TRUE(line.contains("returned")) << line.dump();
    std::string dest = line["returned"][0]["dest"];
    EXPECT_EQ(dest.rfind("file://" + (dir_ / "store").string() + "/jobs/nd/out/", 0), 0u) << dest;
    EXPECT_EQ(Slurp(dest.substr(7)), "returned " + line["returned"][0]["path"].get<std::string>());
    if (line["args"][0] == "big") {
      std::string uri = line["result_uri"];
      auto full = TaskResultFromJson(json::parse(Slurp(uri.substr(7))));
      ASSERT_TRUE(full.ok());
      EXPECT_EQ(full->stdout_data, std::string(kBig, 'b'));
    } else {
      EXPECT_FALSE(line.contains("result_uri"));
    }
  }
}

TEST_F(RunRetrievalTest, ReturnedFilesComeBackAndTheirObjectsGo) {
  ASSERT_EQ(Run({"--job-id", "ret", "--return", "{}.out", "--", "echo", ":::", "x", "y"}), 0);
  EXPECT_EQ(Slurp("x.out"), "returned x.out");
  EXPECT_EQ(Slurp("y.out"), "returned y.out");
  EXPECT_EQ(log_.gets, 2);
  EXPECT_EQ(log_.deletes, 2);
  EXPECT_EQ(FilesUnder("jobs/ret/out"), 0);
}

// What an invocation's worker stores when it finishes: a result too big for the response
// (spilled whole to result_uri; the answer is cut) and its --return files, each tagged with
// `tag`. Returns the cut answer.
TaskResult StoreTagged(ObjectStore& store, const TaskEvent& e, char tag) {
  TaskResult r = testing::Exited(0);
  r.stdout_data = std::string(kBig, tag);
  r.stdout_bytes = kBig;
  EXPECT_FALSE(testing::PutContent(store, e.result_uri, TaskResultToJson(r).dump()).empty());
  r.stdout_data.resize(1000);
  r.stdout_truncated = true;
  for (const auto& ret : e.returns) {
    ReturnedFile rf;
    rf.path = ret;
    rf.uri = testing::PutContent(store, e.output_uri + "/" + ret, std::string("written by ") + tag);
    r.returned.push_back(rf);
  }
  return r;
}

// A speculated task's losing duplicate that stores its spilled result and returned files
// after the winner did (before the driver reads the winner's) must not change what the
// driver gets: every invocation has its own keys, the driver reads the answering
// invocation's, and the loser's objects are swept when the job ends.
TEST_F(RunRetrievalTest, ALateLoserDoesNotOverwriteTheWinnersSpilledObjects) {
  TaskEvent straggler;
  int loser_writes = 0;
  worker_ = [&](const TaskEvent& e, int attempt, ObjectStore& store) {
    if (attempt == 1) {  // runs 10 s: gets a duplicate at 1 s (--speculate 1), and loses
      straggler = e;
      return std::make_pair(int64_t{10000}, testing::WithOutcome(Outcome::kTimedOut, "late"));
    }
    // The duplicate stores its objects now and answers in 100 ms; the straggler finishes
    // its writes 50 ms from now, in between.
    TaskResult r = StoreTagged(store, e, 'W');
    loop_.After(50, [&] {
      ++loser_writes;
      (void)StoreTagged(store, straggler, 'L');
    });
    return std::make_pair(int64_t{100}, r);
  };
  ASSERT_EQ(Run({"--job-id", "spec", "--speculate", "1", "--return", "{}.out", "--", "echo", ":::",
                 "slow"}),
            0)
      << err_;
  ASSERT_EQ(log_.events.size(), 2u) << "the straggler got its duplicate";
  EXPECT_EQ(loser_writes, 1) << "the loser wrote between the winner's writes and its answer";
  EXPECT_TRUE(out_ == std::string(kBig, 'W'))
      << "the driver read the loser's spilled result: " << out_.substr(0, 20) << "... ("
      << out_.size() << " bytes)";
  EXPECT_EQ(Slurp("slow.out"), "written by W");
  auto m = Manifest("spec");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["outcome"], "succeeded");
  // Nothing of either invocation is left in the store.
  EXPECT_EQ(FilesUnder("jobs/spec/results"), 0);
  EXPECT_EQ(FilesUnder("jobs/spec/out"), 0);
}

TEST_F(RunRetrievalTest, StagingSummaryAndBundlingWhenTheBackendAsks) {
  fs::copy_file("/bin/cat", "mytool");
  std::ofstream("in1.txt") << "one";
  std::ofstream("in2.txt") << "two";
  StagingOptions aws;
  aws.bundle = true;
  aws.report = true;
  aws.where = "S3";
  ASSERT_EQ(Run({"--job-id", "s1", "--tf", "{}", "--", "./mytool", "{}", ":::", "in1.txt",
                 "in2.txt", "s3://data-bucket/in3.txt"},
                aws),
            0);
  EXPECT_NE(err_.find("parallelagram: staged "), std::string::npos) << err_;
  EXPECT_NE(err_.find("1 s3:// input used in place; 1 executable bundled"), std::string::npos)
      << err_;
  ASSERT_EQ(log_.events.size(), 3u);
  std::map<std::string, StagedFile> files;
  for (const auto& e : log_.events) {
    for (const auto& f : e.files) files[f.path] = f;
  }
  EXPECT_TRUE(files.count("mytool"));
  EXPECT_TRUE(files.count(".pgbundle-mytool/lib/libc.so.6"));
  EXPECT_TRUE(files.count(".pgbundle-mytool/mytool"));
  EXPECT_EQ(files["s3:/data-bucket/in3.txt"].uri, "s3://data-bucket/in3.txt");
  EXPECT_EQ(Slurp(files["mytool"].uri.substr(7)).rfind("#!/bin/sh\n", 0), 0u);

  // The same job again: nothing is uploaded, and the line says so.
  ASSERT_EQ(
      Run({"--job-id", "s2", "--tf", "{}", "--", "./mytool", "{}", ":::", "in1.txt", "in2.txt"},
          aws),
      0);
  EXPECT_NE(err_.find("(0 bytes uploaded, "), std::string::npos) << err_;
  EXPECT_NE(err_.find("already in S3)"), std::string::npos) << err_;
  // --quiet: no line. The local backend's default options: no line, no bundle.
  ASSERT_EQ(
      Run({"-q", "--job-id", "s3", "--tf", "{}", "--", "./mytool", "{}", ":::", "in1.txt"}, aws),
      0);
  EXPECT_EQ(err_.find("staged"), std::string::npos) << err_;
  ASSERT_EQ(Run({"--job-id", "s4", "--tf", "{}", "--", "./mytool", "{}", ":::", "in1.txt"}), 0);
  EXPECT_EQ(err_.find("staged"), std::string::npos) << err_;
  ASSERT_EQ(log_.events.size(), 1u);
  EXPECT_EQ(log_.events[0].files.size(), 1u);  // in1.txt only
}

}  // namespace
}  // namespace parallelagram::driver
