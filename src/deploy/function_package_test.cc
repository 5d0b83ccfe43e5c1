#include "deploy/function_package.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "deploy/library_closure.h"
#include "os/process_runner.h"
#include "os/zip_util.h"

namespace parallelagram::deploy {
namespace {

TEST(LibraryClosureTest, ParsesLddOutput) {
  const std::string out =
      "\tlinux-vdso.so.1 (0x00007ffc4d9f2000)\n"
      "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f6f1a1e0000)\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6f19fff000)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f6f1a21a000)\n";
  std::vector<SharedLibrary> libs;
  ASSERT_TRUE(ParseLddOutput(out, "/lib64/ld-linux-x86-64.so.2", &libs).ok());
  ASSERT_EQ(libs.size(), 2u);
  EXPECT_EQ(libs[0].soname, "libz.so.1");
  EXPECT_EQ(libs[0].path, "/lib/x86_64-linux-gnu/libz.so.1");
  EXPECT_EQ(libs[1].soname, "libc.so.6");
}

TEST(LibraryClosureTest, MissingLibraryIsNamed) {
  std::vector<SharedLibrary> libs;
  Status s = ParseLddOutput("\tlibmine.so.3 => not found\n", "/lib64/ld-linux-x86-64.so.2", &libs);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("libmine.so.3"), std::string::npos);
}

TEST(LibraryClosureTest, RealDynamicAndStaticPrograms) {
  os::PosixProcessRunner runner;
  auto dyn = FindLibraryClosure("/bin/ls", runner);
  ASSERT_TRUE(dyn.ok()) << dyn.status().ToString();
  EXPECT_FALSE(dyn->is_static);
  EXPECT_FALSE(dyn->interpreter.empty());
  EXPECT_TRUE(std::any_of(dyn->libraries.begin(), dyn->libraries.end(),
                          [](const SharedLibrary& l) { return l.soname == "libc.so.6"; }));
  auto stat = FindLibraryClosure("/bin/busybox", runner);  // Debian's busybox-static
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_TRUE(stat->is_static);
  EXPECT_TRUE(stat->libraries.empty());
  auto not_elf = FindLibraryClosure("/etc/passwd", runner);
  EXPECT_EQ(not_elf.status().code(), StatusCode::kInvalidArgument);
}

// A bundled program runs through its own loader and libraries: its own /proc/self/maps
// shows libc mapped from the bundle, not from the host's library directory.
TEST(FunctionPackageTest, BundledProgramRunsThroughBundledLoader) {
  os::PosixProcessRunner runner;
  auto closure = FindLibraryClosure("/bin/cat", runner);
  ASSERT_TRUE(closure.ok());
  auto entries = BundleExecutable("/bin/cat", *closure, "tools/cat", "cat");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  auto zip = os::MakeZip(*entries);
  ASSERT_TRUE(zip.ok());
  std::string tmpl = ::testing::TempDir() + "/bundle-XXXXXX";
  std::string dir = std::filesystem::canonical(mkdtemp(tmpl.data())).string();
  ASSERT_TRUE(os::UnpackZip(*zip, dir).ok());
  os::ProcessSpec spec;
  spec.argv = {dir + "/tools/cat/cat", "/proc/self/maps"};
  auto out = runner.Run(spec);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->exit_code, 0) << out->stderr_data;
  EXPECT_NE(out->stdout_data.find(dir + "/tools/cat/lib/libc.so.6"), std::string::npos)
      << out->stdout_data;
  EXPECT_EQ(out->stdout_data.find("/lib/x86_64-linux-gnu/libc.so.6"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(FunctionPackageTest, LauncherKeepsItsLibrariesFromTheProcessesItsProgramStarts) {
  // Lambda puts $LAMBDA_TASK_ROOT/lib on LD_LIBRARY_PATH; the bundle's libc there must not
  // reach the host's programs the bundled program starts (another glibc than theirs).
  std::string tmpl = ::testing::TempDir() + "/launcher-XXXXXX";
  std::string dir = std::filesystem::canonical(mkdtemp(tmpl.data())).string();
  std::filesystem::create_directories(dir + "/lib");
  {
    std::ofstream loader(dir + "/lib/ld.so");  // stands in for the loader: shows what it got
    loader << "#!/bin/sh\necho \"[${LD_LIBRARY_PATH-unset}] $*\"\n";
    std::ofstream launcher(dir + "/bootstrap");
    launcher << LauncherScript("ld.so", "prog");
  }
  std::filesystem::permissions(dir + "/lib/ld.so", std::filesystem::perms::owner_all);
  std::filesystem::permissions(dir + "/bootstrap", std::filesystem::perms::owner_all);
  os::PosixProcessRunner runner;
  auto run = [&](const std::string& ld_path) {
    os::ProcessSpec spec;
    spec.argv = {dir + "/bootstrap", "arg"};
    spec.env = {{"LAMBDA_TASK_ROOT", dir}, {"LD_LIBRARY_PATH", ld_path}};
    auto out = runner.Run(spec);
    EXPECT_TRUE(out.ok());
    return out.ok() ? out->stdout_data : std::string();
  };
  const std::string tail = " --library-path " + dir + "/lib " + dir + "/bin/prog arg\n";
  EXPECT_EQ(run("/var/lang/lib:/lib64:" + dir + ":" + dir + "/lib:/opt/lib"),
            "[/var/lang/lib:/lib64:" + dir + ":/opt/lib]" + tail);
  EXPECT_EQ(run(dir + "/lib"), "[unset]" + tail);
  std::filesystem::remove_all(dir);
}

TEST(FunctionPackageTest, DeterministicAndStaticProgramsGoInWhole) {
  os::PosixProcessRunner runner;
  auto a = BuildFunctionPackage("/bin/busybox", runner);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->bundled_loader);
  EXPECT_EQ(a->files, std::vector<std::string>{"bootstrap"});
  auto b = BuildFunctionPackage("/bin/busybox", runner);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->zip, b->zip);
  auto dyn = BuildFunctionPackage("/bin/ls", runner);
  ASSERT_TRUE(dyn.ok());
  EXPECT_TRUE(dyn->bundled_loader);
  EXPECT_EQ(dyn->files.front(), "bootstrap");
  EXPECT_NE(std::find(dyn->files.begin(), dyn->files.end(), "bin/bootstrap"), dyn->files.end());
  EXPECT_NE(std::find(dyn->files.begin(), dyn->files.end(), "lib/libc.so.6"), dyn->files.end());
}

}  // namespace
}  // namespace parallelagram::deploy
