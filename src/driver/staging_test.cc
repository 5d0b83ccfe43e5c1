// Staging and DirectoryObjectStore: counters, HEAD-skip on a second run, s3:// inputs used in
// place, and executables bundled with their libraries -- placed as the protocol says and
// run from the task's directory.
#include "driver/staging.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "driver/object_store.h"
#include "os/process_runner.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;

void Write(const std::string& path, const std::string& content) {
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// A temporary directory that is also the current directory while the test runs (staging
// takes paths relative to it).
class DriverStagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/pg-staging-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = fs::canonical(tmpl).string();
    old_cwd_ = fs::current_path().string();
    fs::create_directories(dir_ + "/work");
    fs::current_path(dir_ + "/work");
  }
  void TearDown() override {
    fs::current_path(old_cwd_);
    fs::remove_all(dir_);
  }
  std::string store_root() const { return dir_ + "/store"; }
  std::string dir_, old_cwd_;
};

TEST_F(DriverStagingTest, CountsUploadsAndASecondRunUploadsNothing) {
  Write("base/tool.cfg", std::string(3000, 'c'));
  Write("base/sub/data", "data");
  Write("in1.txt", "same content");
  Write("in2.txt", "same content");  // the same object as in1.txt
  Write("in3.txt", std::string(2'500'000, 'x'));
  DirectoryObjectStore store(store_root());
  StagingOptions opts;
  opts.where = "S3";
  {
    Staging st(store, opts);
    ASSERT_TRUE(st.AddBasefiles({"base"}).ok());
    for (auto p : {"in1.txt", "in2.txt", "./in3.txt", "in1.txt"}) {
      ASSERT_TRUE(st.AddTransferFile(p).ok()) << p;
    }
    ASSERT_TRUE(st.Commit().ok());
    EXPECT_EQ(st.summary().files, 4);
    EXPECT_EQ(st.summary().files_uploaded, 4);
    EXPECT_EQ(st.summary().bytes_uploaded, 3000 + 4 + 12 + 2'500'000);
    EXPECT_EQ(st.SummaryLine(), "staged 4 files (2.5 MB uploaded)");
    auto files = st.FilesFor({"in2.txt", "in3.txt"});
    ASSERT_EQ(files.size(), 4u);
    EXPECT_EQ(files[0].path, "base/sub/data");
    EXPECT_TRUE(files[0].cache);
    EXPECT_EQ(files[2].path, "in2.txt");
    EXPECT_FALSE(files[2].cache);
    EXPECT_EQ(files[2].uri, st.FilesFor({"in1.txt"})[2].uri);  // one object, two paths
    EXPECT_EQ(Read(files[3].uri.substr(7)), std::string(2'500'000, 'x'));
    EXPECT_EQ(st.TransferUris().size(), 2u);
  }
  TransferCounters c = store.counters();
  EXPECT_EQ(c.files_uploaded, 4);
  EXPECT_EQ(c.files_present, 0);

  // The same job again: everything is already stored.
  Write("in4.txt", "new");
  Staging again(store, opts);
  ASSERT_TRUE(again.AddBasefiles({"base"}).ok());
  for (auto p : {"in1.txt", "in2.txt", "in3.txt"}) ASSERT_TRUE(again.AddTransferFile(p).ok());
  ASSERT_TRUE(again.Commit().ok());
  EXPECT_EQ(again.summary().bytes_uploaded, 0);
  EXPECT_EQ(again.summary().files_present, 4);
  EXPECT_EQ(again.SummaryLine(),
            "staged 4 files (0 bytes uploaded, 4 files / 2.5 MB already in S3)");
  EXPECT_EQ(store.counters().files_present, 4);
  EXPECT_EQ(store.counters().bytes_uploaded, c.bytes_uploaded);

  // One new file among old ones.
  Staging third(store, opts);
  ASSERT_TRUE(third.AddTransferFile("in4.txt").ok());
  ASSERT_TRUE(third.AddTransferFile("in1.txt").ok());
  ASSERT_TRUE(third.Commit().ok());
  EXPECT_EQ(third.SummaryLine(),
            "staged 2 files (3 bytes uploaded, 1 file / 12 bytes already in S3)");
}

TEST_F(DriverStagingTest, MissingFilesFailNamingThem) {
  DirectoryObjectStore store(store_root());
  Staging st(store);
  Status s = st.AddTransferFile("nope.txt");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("nope.txt"), std::string::npos);
  s = st.AddBasefiles({"gone"});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.AddTransferFile("../x").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(st.Commit().ok());
  EXPECT_EQ(st.SummaryLine(), "");
}

TEST_F(DriverStagingTest, S3InputsAreUsedInPlace) {
  DirectoryObjectStore store(store_root());
  Staging st(store);
  ASSERT_TRUE(st.AddTransferFile("s3://other-bucket/data/my file+1.csv").ok());
  ASSERT_TRUE(st.AddTransferFile("s3://other-bucket/data/my file+1.csv").ok());
  EXPECT_EQ(st.AddTransferFile("s3://b/a/../etc").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.AddTransferFile("s3://bucket-only").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(st.Commit().ok());
  auto files = st.FilesFor({"s3://other-bucket/data/my file+1.csv"});
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].uri, "s3://other-bucket/data/my file+1.csv");
  EXPECT_EQ(files[0].path, "s3:/other-bucket/data/my file+1.csv");
  EXPECT_EQ(files[0].sha256, "");  // nothing to verify against
  EXPECT_FALSE(files[0].cache);
  EXPECT_TRUE(st.TransferUris().empty());  // never deleted by --cleanup
  EXPECT_EQ(store.counters().files_uploaded, 0);
  EXPECT_EQ(st.SummaryLine(), "staged 0 files (0 bytes uploaded); 1 s3:// input used in place");
  // The kernel folds "//": the task opens the URI string itself as a relative path.
  fs::create_directories("s3:/other-bucket/data");
  Write("s3:/other-bucket/data/my file+1.csv", "ok");
  EXPECT_EQ(Read("s3://other-bucket/data/my file+1.csv"), "ok");
}

// Places `files` in `scratch` as docs/protocol.md tells the worker to: each file:// object
// copied to its relative `path`, made executable when `executable` is set. (The worker's own
// placement is tested in worker/scratch_files_test.cc; the driver knows the worker only by the
// protocol.)
void PlaceLikeTheWorker(const std::vector<StagedFile>& files, const std::string& scratch) {
  for (const auto& f : files) {
    ASSERT_EQ(f.uri.rfind("file://", 0), 0u) << f.uri;
    fs::path dest = fs::path(scratch) / f.path;
    fs::create_directories(dest.parent_path());
    std::error_code ec;
    fs::copy_file(f.uri.substr(7), dest, fs::copy_options::overwrite_existing, ec);
    ASSERT_FALSE(ec) << f.uri << ": " << ec.message();
    ASSERT_EQ(::chmod(dest.c_str(), f.executable ? 0755 : 0644), 0) << dest;
  }
}

TEST_F(DriverStagingTest, BundlesTheProgramWithItsLibraries) {
  fs::create_directories("bin");
  fs::copy_file("/bin/cat", "bin/mycat");
  fs::create_directories("tools");
  fs::copy_file("/bin/busybox", "tools/busybox");  // static: shipped as it is
  Write("script.sh", "#!/bin/sh\necho hi\n");
  ::chmod("script.sh", 0755);
  DirectoryObjectStore store(store_root());
  StagingOptions opts;
  opts.bundle = true;
  opts.program = "bin/mycat";
  opts.bundle_exes = {"./tools/busybox", "script.sh"};
  opts.work_dir = dir_ + "/bundle";
  Staging st(store, opts);
  ASSERT_TRUE(st.AddBasefiles({"bin"}).ok());  // the raw program is replaced by the bundle
  Status s = st.Commit();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(st.summary().bundled, 1);
  auto files = st.FilesFor({});
  std::map<std::string, StagedFile> by_path;
  for (const auto& f : files) by_path[f.path] = f;
  ASSERT_EQ(by_path.count("bin/mycat"), 1u);
  EXPECT_TRUE(by_path["bin/mycat"].executable);
  EXPECT_TRUE(by_path["bin/mycat"].cache);
  EXPECT_EQ(by_path.count("bin/.pgbundle-mycat/bin/mycat"), 1u);
  EXPECT_EQ(by_path.count("bin/.pgbundle-mycat/lib/libc.so.6"), 1u);
  EXPECT_EQ(by_path.count("tools/busybox"), 1u);
  EXPECT_EQ(by_path.count("script.sh"), 1u);
  EXPECT_NE(st.SummaryLine().find("1 executable bundled"), std::string::npos);

  // The task's directory as the worker builds it; the program runs at its own path through
  // the bundled loader: its /proc/self/maps shows the bundle's libc, not the host's.
  std::string scratch = dir_ + "/scratch";
  PlaceLikeTheWorker(files, scratch);
  os::PosixProcessRunner runner;
  os::ProcessSpec spec;
  spec.argv = {"bin/mycat", "/proc/self/maps"};
  spec.cwd = scratch;
  auto out = runner.Run(spec);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->exit_code, 0) << out->stderr_data;
  EXPECT_NE(out->stdout_data.find(scratch + "/bin/.pgbundle-mycat/lib/libc.so.6"),
            std::string::npos)
      << out->stdout_data;
  spec.argv = {"./tools/busybox", "echo", "static ok"};
  out = runner.Run(spec);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->stdout_data, "static ok\n");
  EXPECT_EQ(Read(scratch + "/tools/busybox"), Read("tools/busybox"));
}

TEST_F(DriverStagingTest, DirectoryStoreListsPutsAndNeverLeavesPartialFiles) {
  DirectoryObjectStore store(store_root());
  Write("a", "aaa");
  Write("b", "bb");
  std::vector<PutOutcome> out = store.PutFiles({{"jobs/J/results/1.json", "a"},
                                                {"jobs/J/results/2.json", "missing"},
                                                {"jobs/J/results/10.json", "b"},
                                                {"jobs/K/results/1.json", "a"},
                                                {"cas/x", "a"}});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[0].uploaded);
  EXPECT_EQ(out[0].bytes, 3);
  EXPECT_EQ(out[1].status.code(), StatusCode::kNotFound);  // the others still went in
  EXPECT_TRUE(out[2].status.ok());
  Write(store_root() + "/jobs/J/results/3.json.pgtmp.12.1", "being written");
  auto listed = store.List("jobs/J/results/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "jobs/J/results/1.json");
  EXPECT_EQ((*listed)[0].size, 3);
  EXPECT_EQ((*listed)[1].key, "jobs/J/results/10.json");
  auto all = store.List("jobs/");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto none = store.List("nothing/here/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(store.List("jobs/J").value().size(), 2u);  // a string prefix, as on S3

  // A cas/ key already stored is not copied again; other keys are overwritten.
  auto again = store.PutFiles({{"cas/x", "a"}, {"jobs/J/results/1.json", "b"}});
  EXPECT_FALSE(again[0].uploaded);
  EXPECT_TRUE(again[1].uploaded);
  EXPECT_EQ(Read(store_root() + "/jobs/J/results/1.json"), "bb");

  // GetFile of a missing object leaves the destination as it was.
  Write("dest", "keep me");
  Status s = store.GetFile(store.Uri("jobs/J/nope"), "dest");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(Read("dest"), "keep me");
  ASSERT_TRUE(store.GetFile(store.Uri("jobs/J/results/10.json"), "deep/er/dest").ok());
  EXPECT_EQ(Read("deep/er/dest"), "bb");
  EXPECT_EQ(store.counters().files_downloaded, 1);
  EXPECT_EQ(store.Delete("file:///etc/passwd").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.Delete(store.Uri("jobs/J/results/10.json")).ok());
  EXPECT_TRUE(store.Delete(store.Uri("jobs/J/results/10.json")).ok());  // already gone
  EXPECT_EQ(store.List("jobs/J/").value().size(), 1u);
}

}  // namespace
}  // namespace parallelagram::driver
