#include "os/zip_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace parallelagram::os {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/zip-XXXXXX";
  return mkdtemp(tmpl.data());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ZipUtilTest, SameEntriesGiveIdenticalBytes) {
  std::vector<ZipEntry> entries = {{"bootstrap", "#!/bin/sh\n", 0755},
                                   {"lib/", "", 0755},
                                   {"lib/libx.so.1", std::string(100000, 'x'), 0755, false}};
  auto a = MakeZip(entries);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  sleep(1);  // a zip that recorded the current time would differ now
  auto b = MakeZip(entries);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(ZipUtilTest, StoredAndDeflatedEntriesRoundTripWithModes) {
  std::string big(1 << 20, 'a');
  auto stored = MakeZip({{"bootstrap", big, 0755, false}});
  auto deflated = MakeZip({{"bootstrap", big, 0755, true}});
  ASSERT_TRUE(stored.ok() && deflated.ok());
  EXPECT_GT(stored->size(), big.size());         // stored as is
  EXPECT_LT(deflated->size(), big.size() / 10);  // compressed
  for (const std::string* zip : {&*stored, &*deflated}) {
    std::string dir = TempDir();
    auto unpacked = UnpackZip(*zip, dir);
    ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
    EXPECT_TRUE(unpacked->has_executable_bootstrap);
    EXPECT_EQ(unpacked->unzipped_bytes, big.size());
    EXPECT_EQ(ReadFile(dir + "/bootstrap"), big);
    struct stat st {};
    ASSERT_EQ(stat((dir + "/bootstrap").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    std::filesystem::remove_all(dir);
  }
}

TEST(ZipUtilTest, RejectsNonZipAndEscapingEntries) {
  std::string dir = TempDir();
  auto not_zip = UnpackZip("this is not a zip", dir);
  EXPECT_EQ(not_zip.status().code(), StatusCode::kInvalidArgument);
  auto escaping = MakeZip({{"../evil", "x", 0644}});
  ASSERT_TRUE(escaping.ok());
  auto r = UnpackZip(*escaping, dir);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir).parent_path() / "evil"));
  std::filesystem::remove_all(dir);
}

// Rewrites every uncompressed-size field (local headers and central directory) to `size`.
std::string UnderDeclare(std::string zip, uint32_t size) {
  auto put = [&](size_t at) {
    for (int k = 0; k < 4; ++k) zip[at + k] = static_cast<char>((size >> (8 * k)) & 0xff);
  };
  for (size_t i = 0; i + 4 <= zip.size(); ++i) {
    if (zip.compare(i, 4, std::string("PK\x03\x04", 4)) == 0) put(i + 22);
    if (zip.compare(i, 4, std::string("PK\x01\x02", 4)) == 0) put(i + 24);
  }
  return zip;
}

TEST(ZipUtilTest, CountsWrittenBytesNotDeclaredSizes) {
  const uint64_t limit = 1 << 20;
  // Every entry is declared 1000 bytes: `bootstrap` truly is, `zeros` is 8 MB.
  std::string boot = "#!/bin/sh\n" + std::string(990, '#');
  auto zip = MakeZip({{"bootstrap", boot, 0755}, {"zeros", std::string(8 << 20, '\0')}});
  ASSERT_TRUE(zip.ok());
  std::string dir = TempDir();
  auto r = UnpackZip(UnderDeclare(*zip, 1000), dir, limit);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("exceeds"), std::string::npos) << r.status().message();
  std::error_code ec;
  auto written = std::filesystem::file_size(dir + "/zeros", ec);
  EXPECT_LE(written, limit + (64 << 10));
}

TEST(ZipUtilTest, EntriesThatCannotBeLaidOutAreTheCallersErrorWithoutOurPath) {
  std::vector<std::vector<ZipEntry>> bad = {
      {{"a", "file"}, {"a/b", "under a file"}},
      {{std::string(300, 'n'), "long name"}},
  };
  std::string deep;
  for (int i = 0; i < 2100; ++i) deep += "d/";  // past PATH_MAX
  bad.push_back({{deep + "f", "deep"}});
  for (const auto& entries : bad) {
    auto zip = MakeZip(entries);
    ASSERT_TRUE(zip.ok());
    std::string dir = TempDir();
    auto r = UnpackZip(*zip, dir);
    ASSERT_FALSE(r.ok()) << entries.back().name.substr(0, 40);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
    EXPECT_EQ(r.status().message().find(dir), std::string::npos) << r.status().message();
  }
}

TEST(ZipUtilTest, NestingIsBoundedAndEachDirectoryMadeOnce) {
  // 129 levels: refused before anything is made for it.
  std::string too_deep;
  for (int i = 0; i < 129; ++i) too_deep += "d/";
  auto zip = MakeZip({{too_deep + "f", "x"}});
  ASSERT_TRUE(zip.ok());
  std::string dir = TempDir();
  auto r = UnpackZip(*zip, dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more than 128 directories deep"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir + "/d"));
  // 2,000 files 127 levels down share their directories: all unpacked.
  std::string deep;
  for (int i = 0; i < 127; ++i) deep += "d/";
  std::vector<ZipEntry> many;
  for (int i = 0; i < 2000; ++i) many.push_back({deep + "f" + std::to_string(i), "x"});
  zip = MakeZip(many);
  ASSERT_TRUE(zip.ok());
  dir = TempDir();
  r = UnpackZip(*zip, dir);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(std::filesystem::exists(dir + "/" + deep + "f1999"));
}

TEST(ZipUtilTest, RoundTripKeepsModes) {
  auto zip =
      MakeZip({{"bootstrap", "#!/bin/sh\n", 0755}, {"lib/", "", 0755}, {"lib/a", "x", 0644}});
  ASSERT_TRUE(zip.ok());
  std::filesystem::path dir = TempDir();
  auto r = UnpackZip(*zip, dir.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->has_executable_bootstrap);
  struct stat st;
  ASSERT_EQ(stat((dir / "bootstrap").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_TRUE(std::filesystem::exists(dir / "lib/a"));
  auto bad = UnpackZip("this is not a zip", dir.string());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto evil = MakeZip({{"../escape", "x", 0644}});
  ASSERT_TRUE(evil.ok());
  EXPECT_FALSE(UnpackZip(*evil, dir.string()).ok());
  auto noexec = MakeZip({{"bootstrap", "x", 0644}});
  ASSERT_TRUE(noexec.ok());
  auto r2 = UnpackZip(*noexec, dir.string());
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->has_executable_bootstrap);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parallelagram::os
