#include "worker/scratch_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sha256.h"

namespace parallelagram {
namespace {

namespace fs = std::filesystem;

std::string ReadScratchFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

class ScratchFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pg-staging-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    scratch_ = tmp_ + "/scratch";
    fs::create_directories(scratch_);
    scratch_files_ = std::make_unique<ScratchFiles>(blobs_.get(), tmp_ + "/cache");
  }
  void TearDown() override {
    fs::permissions(tmp_, fs::perms::owner_all);
    fs::remove_all(tmp_);
  }

  StagedFile Source(const std::string& name, const std::string& data) {
    WriteAll(tmp_ + "/src/" + name, data);
    return StagedFile{.path = name,
                      .uri = "file://" + tmp_ + "/src/" + name,
                      .sha256 = Sha256Hex(data),
                      .size = data.size()};
  }

  std::string tmp_, scratch_;
  std::unique_ptr<Blobs> blobs_ = Blobs::WithDefaults();
  std::unique_ptr<ScratchFiles> scratch_files_;
};

TEST(CheckRelativePathTest, AcceptsOnlyPathsInsideTheDirectory) {
  EXPECT_TRUE(CheckRelativePath("a.txt", "p").ok());
  EXPECT_TRUE(CheckRelativePath("a/b/c..d", "p").ok());
  EXPECT_FALSE(CheckRelativePath("", "p").ok());
  EXPECT_FALSE(CheckRelativePath("/etc/passwd", "p").ok());
  EXPECT_FALSE(CheckRelativePath("../x", "p").ok());
  EXPECT_FALSE(CheckRelativePath("a/../../x", "p").ok());
  EXPECT_FALSE(CheckRelativePath("./x", "p").ok());
  EXPECT_FALSE(CheckRelativePath("a/..", "p").ok());
}

TEST(FileUriTest, ParsesAbsolutePathsLiterally) {
  EXPECT_EQ(FileUriPath("file:///a/b c%20d").value(), "/a/b c%20d");
  EXPECT_EQ(FileUriPath("file://localhost/x").value(), "/x");
  EXPECT_FALSE(FileUriPath("file://relative/x").ok());
  EXPECT_FALSE(FileUriPath("s3://b/k").ok());
  EXPECT_EQ(UriScheme("s3://b/k"), "s3");
  EXPECT_EQ(UriScheme("/plain/path"), "");
}

TEST_F(ScratchFilesTest, CopiesVerifiesAndSetsTheExecutableBit) {
  StagedFile data = Source("data.txt", "some bytes\n");
  data.path = "in/data.txt";
  StagedFile tool = Source("tool.sh", "#!/bin/sh\n");
  tool.path = "bin/tool.sh";
  tool.executable = true;
  ASSERT_TRUE(scratch_files_->PlaceInputs({data, tool}, scratch_).ok());
  EXPECT_EQ(ReadScratchFile(scratch_ + "/in/data.txt"), "some bytes\n");
  EXPECT_EQ(::access((scratch_ + "/bin/tool.sh").c_str(), X_OK), 0);
  struct stat st, src;
  ASSERT_EQ(::stat((scratch_ + "/in/data.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_EQ(::stat((tmp_ + "/src/data.txt").c_str(), &src), 0);
  EXPECT_NE(st.st_ino, src.st_ino) << "an input must be a copy, not a link to the source";
}

TEST_F(ScratchFilesTest, RejectsDigestOrSizeMismatchAndMissingSources) {
  StagedFile f = Source("a.txt", "abc");
  f.sha256 = Sha256Hex("abd");
  Status s = scratch_files_->PlaceInputs({f}, scratch_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sha256"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(scratch_ + "/a.txt"));
  f = Source("a.txt", "abc");
  f.size = 4;
  EXPECT_FALSE(scratch_files_->PlaceInputs({f}, scratch_).ok());
  f = Source("a.txt", "abc");
  f.uri += ".missing";
  s = scratch_files_->PlaceInputs({f}, scratch_);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  f.uri = "gs://bucket/key";
  s = scratch_files_->PlaceInputs({f}, scratch_);
  EXPECT_NE(s.message().find("unsupported URI scheme"), std::string::npos) << s.message();
  f = Source("a.txt", "abc");
  f.sha256 = "NOT-HEX";
  EXPECT_FALSE(scratch_files_->PlaceInputs({f}, scratch_).ok());
}

TEST_F(ScratchFilesTest, BasefilesAreFetchedOncePerEnvironmentAndLinked) {
  StagedFile base = Source("ref.db", "reference data");
  base.cache = true;
  std::string scratch2 = tmp_ + "/scratch2";
  fs::create_directories(scratch2);
  ASSERT_TRUE(scratch_files_->PlaceInputs({base}, scratch_).ok());
  ASSERT_TRUE(scratch_files_->PlaceInputs({base}, scratch2).ok());
  EXPECT_EQ(scratch_files_->cache_fetches(), 1);
  EXPECT_EQ(ReadScratchFile(scratch2 + "/ref.db"), "reference data");
  struct stat a, b;
  ASSERT_EQ(::stat((scratch_ + "/ref.db").c_str(), &a), 0);
  ASSERT_EQ(::stat((scratch2 + "/ref.db").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_TRUE(fs::exists(tmp_ + "/cache/" + base.sha256));

  // A task that wrote through its link (root ignores the read-only mode) spoils the
  // entry: the next task gets a fresh, verified copy.
  fs::remove_all(scratch2);
  fs::create_directories(scratch2);
  WriteAll(scratch_ + "/ref.db", "tampered, longer content");
  ASSERT_TRUE(scratch_files_->PlaceInputs({base}, scratch2).ok());
  EXPECT_EQ(scratch_files_->cache_fetches(), 2);
  EXPECT_EQ(ReadScratchFile(scratch2 + "/ref.db"), "reference data");

  // The same content wanted executable is a separate entry.
  base.executable = true;
  fs::remove_all(scratch2);
  fs::create_directories(scratch2);
  ASSERT_TRUE(scratch_files_->PlaceInputs({base}, scratch2).ok());
  EXPECT_EQ(scratch_files_->cache_fetches(), 3);
  EXPECT_EQ(::access((scratch2 + "/ref.db").c_str(), X_OK), 0);
}

TEST_F(ScratchFilesTest, StoresReturnedFilesUnderTheOutputPrefix) {
  WriteAll(scratch_ + "/out/a.bin", std::string("\0\1\2", 3));
  fs::create_directories(scratch_ + "/a-dir");
  auto r = scratch_files_->StoreReturns({"out/a.bin", "nope.txt", "a-dir"}, scratch_,
                                        "file://" + tmp_ + "/results/t7");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  const ReturnedFile& a = (*r)[0];
  EXPECT_EQ(a.path, "out/a.bin");
  EXPECT_EQ(a.uri, "file://" + tmp_ + "/results/t7/0-a.bin");
  EXPECT_EQ(a.sha256, Sha256Hex(std::string("\0\1\2", 3)));
  EXPECT_EQ(a.size, 3u);
  EXPECT_FALSE(a.missing);
  EXPECT_EQ(ReadScratchFile(tmp_ + "/results/t7/0-a.bin"), std::string("\0\1\2", 3));
  // Any file name makes a plain key: position plus a sanitised basename.
  WriteAll(scratch_ + "/ü n+i=c%o.txt", "u");
  auto u =
      scratch_files_->StoreReturns({"ü n+i=c%o.txt"}, scratch_, "file://" + tmp_ + "/results/t8/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ((*u)[0].uri, "file://" + tmp_ + "/results/t8/0-___n_i_c_o.txt");
  EXPECT_EQ((*u)[0].path, "ü n+i=c%o.txt");
  EXPECT_TRUE((*r)[1].missing);
  EXPECT_TRUE((*r)[2].missing);
  EXPECT_FALSE(scratch_files_->StoreReturns({"x"}, scratch_, "").ok());
  EXPECT_FALSE(scratch_files_->StoreReturns({"../x"}, scratch_, "file:///tmp").ok());
}

TEST_F(ScratchFilesTest, FileBlobsPutBytesIsAtomicAndCreatesParents) {
  FileBlobs fb;
  ASSERT_TRUE(fb.PutBytes("hello", "file://" + tmp_ + "/deep/er/r.json").ok());
  EXPECT_EQ(ReadScratchFile(tmp_ + "/deep/er/r.json"), "hello");
  ASSERT_TRUE(fb.PutBytes("bye", "file://" + tmp_ + "/deep/er/r.json").ok());
  EXPECT_EQ(ReadScratchFile(tmp_ + "/deep/er/r.json"), "bye");
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(tmp_ + "/deep/er")) ++entries;
  EXPECT_EQ(entries, 1) << "a temporary file was left behind";
  EXPECT_FALSE(fb.PutBytes("x", "file:relative").ok());
}

}  // namespace
}  // namespace parallelagram
