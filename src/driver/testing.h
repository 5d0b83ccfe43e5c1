// Test doubles for the driver: a virtual-time Loop, a scripted Invoker, and for RunJob tests
// a fake Backend (scripted worker, request-counting directory store) and a fixture that runs
// RunJob in a scratch directory. Header-only, for *_test.cc files. Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "driver/backend.h"
#include "driver/invoker.h"
#include "driver/object_store.h"
#include "driver/run_job.h"
#include "driver/run_options.h"

namespace parallelagram::driver::testing {

// Everything written to the temporary file `f` (from its start); closes `f`.
inline std::string ReadAndClose(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

// Runs timers in virtual time order, advancing a FakeClock.
class FakeLoop : public Loop {
 public:
  explicit FakeLoop(FakeClock& clock) : clock_(clock) {}
  void After(int64_t delay_ms, std::function<void()> fn) override {
    timers_.emplace(std::make_pair(now_ms_ + std::max<int64_t>(0, delay_ms), seq_++),
                    std::move(fn));
  }
  // Thread-safe: runs `fn` at the current virtual time (a streamed input's reader thread
  // posts; the job's own timers keep Run going while it waits for them).
  void Post(std::function<void()> fn) override {
    std::lock_guard<std::mutex> l(post_mu_);
    posted_.push_back(std::move(fn));
  }
  void Run() override {
    stopped_ = false;
    while (!stopped_) {
      std::vector<std::function<void()>> posted;
      {
        std::lock_guard<std::mutex> l(post_mu_);
        posted.swap(posted_);
      }
      for (auto& fn : posted) After(0, std::move(fn));
      if (timers_.empty()) break;
      auto it = timers_.begin();
      int64_t at = it->first.first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      if (at > now_ms_) {
        clock_.AdvanceMs(at - now_ms_);
        now_ms_ = at;
      }
      fn();
    }
  }
  void Stop() override { stopped_ = true; }
  int64_t now_ms() const { return now_ms_; }
  size_t pending() const { return timers_.size(); }

 private:
  FakeClock& clock_;
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;
  int64_t now_ms_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> timers_;
};

// Answers each Invoke after a scripted delay with a scripted result. `script` gets the event
// and the attempt number for that task_id (1-based) and returns {delay_ms, result}.
class FakeInvoker : public Invoker {
 public:
  using Script = std::function<std::pair<int64_t, TaskResult>(const TaskEvent&, int attempt)>;
  FakeInvoker(Timers& timers, Script script) : timers_(timers), script_(std::move(script)) {}
  void Invoke(TaskEvent event, std::function<void(TaskResult)> done) override {
    int attempt = ++attempts_[event.task_id];
    ++calls;
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    events.push_back(event);
    auto [delay, result] = script_(event, attempt);
    result.task_id = event.task_id;
    timers_.After(delay, [this, done = std::move(done), result = std::move(result)]() mutable {
      --in_flight;
      done(std::move(result));
    });
  }
  int calls = 0;
  int in_flight = 0;
  int max_in_flight = 0;
  std::vector<TaskEvent> events;

 private:
  Timers& timers_;
  Script script_;
  std::map<std::string, int> attempts_;
};

inline TaskResult Exited(int code, std::string out = "", std::string err = "") {
  TaskResult r;
  r.outcome = code == 0 ? Outcome::kSucceeded : Outcome::kFailed;
  r.exit_code = code;
  r.stdout_bytes = out.size();
  r.stderr_bytes = err.size();
  r.stdout_data = std::move(out);
  r.stderr_data = std::move(err);
  return r;
}

inline TaskResult WithOutcome(Outcome o, std::string error = "") {
  TaskResult r;
  r.outcome = o;
  r.error = std::move(error);
  return r;
}

// The whole content of the file at `path` ("" when it cannot be read).
inline std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// What a FakeBackend saw: its store's GetFile and Delete calls and every event its invoker
// was given, in dispatch order. Owned by the test; must outlive the backend.
struct BackendLog {
  int gets = 0;
  int deletes = 0;
  std::vector<TaskEvent> events;
};

// A DirectoryObjectStore that counts GetFile and Delete calls in `*log` (not owned).
class CountingStore : public DirectoryObjectStore {
 public:
  CountingStore(std::string root, BackendLog* log)
      : DirectoryObjectStore(std::move(root)), log_(log) {}
  Status GetFile(const std::string& uri, const std::string& dest) override {
    ++log_->gets;
    return DirectoryObjectStore::GetFile(uri, dest);
  }
  Status Delete(const std::string& uri) override {
    ++log_->deletes;
    return DirectoryObjectStore::Delete(uri);
  }

 private:
  BackendLog* log_;
};

// Stores `content` at `uri` (a URI inside `store`), through a temporary file; returns the
// object's URI, or "" when the put failed.
inline std::string PutContent(ObjectStore& store, const std::string& uri,
                              const std::string& content) {
  std::string tmp =
      std::filesystem::temp_directory_path() / ("pg_fake_put_" + std::to_string(getpid()));
  std::ofstream(tmp, std::ios::binary) << content;
  auto r = store.PutFile(uri.substr(store.Uri("").size()), tmp);
  std::filesystem::remove(tmp);
  return r.ok() ? *r : "";
}

// What the worker does with --return files: for each path P of `e.returns` it stores
// "returned P" at OUTPUT_URI/P and lists it in `r->returned`.
inline void StoreReturns(ObjectStore& store, const TaskEvent& e, TaskResult* r) {
  for (const auto& ret : e.returns) {
    ReturnedFile rf;
    rf.path = ret;
    rf.uri = PutContent(store, e.output_uri + "/" + ret, "returned " + ret);
    r->returned.push_back(rf);
  }
}

// A Backend for RunJob tests. Its invoker is a FakeInvoker on `timers` whose answers come
// from `worker` (given the event, the attempt number of its task and the store, to put
// results and returned files in); every event is appended to `log->events` first. The store
// is a CountingStore under `store_root` (absolute). `log` is not owned and must outlive the
// backend; the backend must outlive RunJob's use of it (RunJob owns it).
class FakeBackend : public Backend {
 public:
  using Worker =
      std::function<std::pair<int64_t, TaskResult>(const TaskEvent&, int attempt, ObjectStore&)>;
  FakeBackend(Timers& timers, std::string store_root, BackendLog* log, Worker worker,
              std::string host = ":", StagingOptions staging = {})
      : log_(log),
        worker_(std::move(worker)),
        host_(std::move(host)),
        staging_(std::move(staging)),
        store_(std::move(store_root), log),
        inv_(timers, [this](const TaskEvent& e, int attempt) {
          log_->events.push_back(e);
          return worker_(e, attempt, store_);
        }) {}
  Invoker& invoker() override { return inv_; }
  ObjectStore& store() override { return store_; }
  std::string host() const override { return host_; }
  StagingOptions staging_options() const override { return staging_; }
  FunctionShape shape() const override { return fake_shape; }
  FakeInvoker& fake() { return inv_; }
  FunctionShape fake_shape;  // what shape() says (local: as the local backend)

 private:
  BackendLog* log_;
  Worker worker_;
  std::string host_;
  StagingOptions staging_;
  CountingStore store_;
  FakeInvoker inv_;
};

// The echo worker: "CMD exit N" exits N after 5 ms; otherwise it prints argv[1..] joined by
// spaces and a newline on stdout, and "err:" and the same on stderr, after argv[1] ms when
// argv[1] starts with a digit (else 1 ms); it stores --return files (StoreReturns).
inline std::pair<int64_t, TaskResult> EchoWorker(const TaskEvent& e, int, ObjectStore& store) {
  if (e.argv.size() >= 3 && e.argv[1] == "exit") {
    return {5, Exited(std::stoi(e.argv[2]))};
  }
  std::string out;
  for (size_t i = 1; i < e.argv.size(); ++i) out += (i > 1 ? " " : "") + e.argv[i];
  out += "\n";
  int64_t delay = 1;
  if (e.argv.size() >= 2 && !e.argv[1].empty() &&
      std::isdigit(static_cast<unsigned char>(e.argv[1][0]))) {
    delay = std::stoll(e.argv[1]);
  }
  TaskResult r = Exited(0, out, "err:" + out);
  StoreReturns(store, e, &r);
  return {delay, r};
}

// A gtest fixture with a scratch directory dir_ = TEMP/pg_<prefix>_<pid>_<test name>, made
// afresh for each test and removed after it.
class ScratchDirTest : public ::testing::Test {
 protected:
  explicit ScratchDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pg_" + prefix_ + "_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

// A gtest fixture that runs RunJob against a FakeBackend in virtual time. Each test gets a
// scratch directory (ScratchDirTest); the current directory is <scratch>/<workdir> for the
// test's duration (restored in TearDown). The state directory is <scratch>/state.
class RunJobFixture : public ScratchDirTest {
 protected:
  explicit RunJobFixture(std::string prefix, std::string workdir = "")
      : ScratchDirTest(std::move(prefix)), workdir_(std::move(workdir)) {}

  void SetUp() override {
    ScratchDirTest::SetUp();
    std::filesystem::create_directories(dir_ / workdir_);
    state_ = (dir_ / "state").string();
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_ / workdir_);
  }
  void TearDown() override {
    std::filesystem::current_path(old_cwd_);
    ScratchDirTest::TearDown();
  }

  // Runs RunJob(o) with -j defaulting to 2 and a FakeBackend made of worker_, host_ and
  // staging_, its store under store_root_ (or, when empty, the state root's store/). Resets
  // log_ first; sets out_ and err_ to what the job printed, config_ to the backend's
  // configuration, and counts backends_started_. Returns RunJob's exit status.
  int RunWith(const RunOptions& o) {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    RunEnv env;
    env.out = out;
    env.err = err;
    env.loop = &loop_;
    env.clock = &clock_;
    env.default_jobs = 2;
    log_ = BackendLog();
    env.backend = [this](const BackendConfig& cfg) -> Result<std::unique_ptr<Backend>> {
      ++backends_started_;
      config_ = cfg;
      std::string root = store_root_.empty() ? cfg.state_root + "/store" : store_root_;
      auto b = std::make_unique<FakeBackend>(loop_, root, &log_, worker_, host_, staging_);
      b->fake_shape.local = local_;
      return std::unique_ptr<Backend>(std::move(b));
    };
    int rc = RunJob(o, env);
    out_ = ReadAndClose(out);
    err_ = ReadAndClose(err);
    return rc;
  }
  // RunWith the options parsed from "--state-dir <state> ARGS" (a parse error fails the test
  // and returns -1).
  int Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    auto o = ParseRunArgs(args);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? RunWith(*o) : -1;
  }

  std::filesystem::path old_cwd_;
  std::string state_;
  FakeClock clock_;
  FakeLoop loop_{clock_};
  FakeBackend::Worker worker_ = EchoWorker;
  std::string host_ = ":";
  StagingOptions staging_;
  bool local_ = false;  // the backend's shape().local
  std::string store_root_;
  BackendLog log_;
  std::string out_, err_;
  int backends_started_ = 0;
  BackendConfig config_;

 private:
  std::string workdir_;
};

}  // namespace parallelagram::driver::testing
