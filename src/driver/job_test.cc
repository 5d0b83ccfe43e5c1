// The Job as a library drives it: tasks submitted from the caller's thread while the job runs
// on another, results taken from a ResultQueue in the caller's thread, several jobs at once,
// and a stop request from the caller. Real I/O loops (http's IoLoop), a fake backend.
#include "driver/job.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "driver/io_loop_driver.h"
#include "driver/result_queue.h"
#include "driver/state_dir.h"
#include "driver/testing.h"
#include "http/io_loop.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using testing::BackendLog;
using testing::EchoWorker;
using testing::FakeBackend;

// One library job: its own loop, backend, queue of results; Run() on a thread of its own.
struct LibraryJob {
  explicit LibraryJob(const std::string& state_root, std::string id, int jobs = 2,
                      std::vector<std::string> basefiles = {}) {
    spec.command = {"echo", "{}"};
    spec.basefiles = std::move(basefiles);
    spec.state_dir = state_root;
    spec.job_id = std::move(id);
    spec.jobs = jobs;
    spec.quiet = true;
    auto q = std::make_unique<SubmitQueue>();
    submit = q.get();
    JobContext ctx;
    ctx.loop = &driver;
    ctx.clock = &SystemClock::Get();
    ctx.observer = &results;
    ctx.stop = &stop;
    ctx.backend = [this](const BackendConfig& cfg) -> Result<std::unique_ptr<Backend>> {
      return std::unique_ptr<Backend>(
          std::make_unique<FakeBackend>(driver, cfg.state_root + "/store", &log, EchoWorker));
    };
    job = std::make_unique<Job>(spec, std::move(q), ctx);
  }
  void Start() {
    thread = std::thread([this] { exit_status = job->Run(); });
  }
  void Join() { thread.join(); }

  RunOptions spec;
  IoLoop loop;
  IoLoopDriver driver{loop};
  BackendLog log;
  ResultQueue results;
  StopRequest stop;
  SubmitQueue* submit = nullptr;
  std::unique_ptr<Job> job;
  std::thread thread;
  int exit_status = -1;
};

class JobTest : public testing::ScratchDirTest {
 protected:
  JobTest() : ScratchDirTest("job") {}
  std::string state() const { return (dir_ / "state").string(); }
};

TEST_F(JobTest, TasksSubmittedWhileRunningAreEachReportedOnceToTheCallersThread) {
  LibraryJob j(state(), "lib1");
  j.Start();
  std::set<std::string> outputs;
  // The first task is submitted and its result taken before the second exists.
  ASSERT_TRUE(j.submit->Submit({"first"}).ok());
  auto r1 = j.results.Pop();
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->rec->result.stdout_data, "first\n");
  EXPECT_EQ(r1->rec->seq, 1);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(j.submit->Submit({"v" + std::to_string(i)}).ok());
  j.submit->Close();
  EXPECT_FALSE(j.submit->Submit({"late"}).ok());  // closed: refused, never dropped silently
  while (auto r = j.results.Pop()) outputs.insert(r->rec->result.stdout_data);
  j.Join();
  EXPECT_EQ(j.exit_status, 0);
  EXPECT_EQ(outputs.size(), 50u);
  EXPECT_TRUE(outputs.count("v49\n"));
  // The library job is an ordinary job: listed, with its manifest, 51 tasks once each.
  auto rs = ReadResults(state(), "lib1");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->size(), 51u);
  std::set<int64_t> seqs;
  for (const auto& l : *rs) seqs.insert(l["seq"].get<int64_t>());
  EXPECT_EQ(seqs.size(), 51u);
  auto info = ReadJob(state(), "lib1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->info.value("status", ""), "finished");
  EXPECT_EQ(info->info.value("total", 0), 51);
}

TEST_F(JobTest, SeveralJobsRunAtOnceInOneProcessAndOneAfterAnother) {
  for (int round = 0; round < 2; ++round) {  // at once, then again after the first ones ended
    LibraryJob a(state(), "a" + std::to_string(round), 3);
    LibraryJob b(state(), "b" + std::to_string(round), 1);
    a.Start();
    b.Start();
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(a.submit->Submit({"a" + std::to_string(i)}).ok());
      ASSERT_TRUE(b.submit->Submit({"b" + std::to_string(i)}).ok());
    }
    a.submit->Close();
    b.submit->Close();
    int na = 0, nb = 0;
    while (auto r = a.results.Pop()) na += r->rec->result.stdout_data[0] == 'a';
    while (auto r = b.results.Pop()) nb += r->rec->result.stdout_data[0] == 'b';
    a.Join();
    b.Join();
    EXPECT_EQ(na, 20);
    EXPECT_EQ(nb, 20);
    EXPECT_EQ(a.exit_status, 0);
    EXPECT_EQ(b.exit_status, 0);
  }
}

TEST_F(JobTest, AStopRequestFromTheCallerEndsAJobThatIsStillBeingFed) {
  LibraryJob j(state(), "stopped");
  j.Start();
  ASSERT_TRUE(j.submit->Submit({"one"}).ok());
  ASSERT_TRUE(j.results.Pop().has_value());
  // Never closed: only the request ends it.
  j.stop.Abandon(Interruption::kCancelled);
  while (j.results.Pop()) {
  }
  j.Join();
  EXPECT_EQ(j.exit_status, kExitTerminated);
  auto info = ReadJob(state(), "stopped");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->info.value("status", ""), "cancelled");
}

TEST_F(JobTest, ASetupErrorIsReportedAndNothingRuns) {
  LibraryJob j(state(), "bad", 2, {"no-such-basefile"});
  j.Start();
  j.submit->Close();
  while (j.results.Pop()) {
  }
  j.Join();
  EXPECT_EQ(j.exit_status, kExitUsage);
  EXPECT_TRUE(j.log.events.empty());
}

}  // namespace
}  // namespace parallelagram::driver
