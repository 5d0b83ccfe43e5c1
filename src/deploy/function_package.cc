#include "deploy/function_package.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace parallelagram::deploy {
namespace {

constexpr uint64_t kMaxUnzippedBytes = 262144000;  // Lambda's limit for a function's code

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError("error reading " + path);
  return ss.str();
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string LauncherScript(const std::string& loader_name, const std::string& program) {
  // Plain POSIX sh (busybox's is enough); no external commands.
  return "#!/bin/sh\n"
         "# Starts bin/" +
         program +
         " through the dynamic loader shipped beside it, with the\n"
         "# libraries it was built with, whatever this host's libraries are (Parallelagram).\n"
         "case \"$0\" in */*) d=\"${0%/*}\" ;; *) d=. ;; esac\n"
         "# Lambda puts $LAMBDA_TASK_ROOT/lib on LD_LIBRARY_PATH: the libraries here (libc\n"
         "# included) are for bin/" +
         program +
         " alone, not for the host's programs it starts.\n"
         "p=; IFS=:; for e in $LD_LIBRARY_PATH; do\n"
         "  case \"$e\" in \"$d/lib\"|\"$d/lib/\"|\"${LAMBDA_TASK_ROOT:-/var/task}/lib\") ;; "
         "*) p=\"${p:+$p:}$e\" ;; esac\n"
         "done; unset IFS\n"
         "if [ -n \"$p\" ]; then export LD_LIBRARY_PATH=\"$p\"; else unset LD_LIBRARY_PATH; fi\n"
         "exec \"$d/lib/" +
         loader_name + "\" --library-path \"$d/lib\" \"$d/bin/" + program + "\" \"$@\"\n";
}

Result<std::vector<os::ZipEntry>> BundleExecutable(const std::string& executable,
                                                   const LibraryClosure& closure,
                                                   const std::string& dir,
                                                   const std::string& launcher) {
  const std::string prefix = dir.empty() ? "" : dir + "/";
  std::vector<os::ZipEntry> entries;
  PG_ASSIGN_OR_RETURN(std::string program, ReadWholeFile(executable));
  if (closure.is_static) {
    entries.push_back({prefix + launcher, std::move(program), 0755});
    return entries;
  }
  const std::string loader_name = BaseName(closure.interpreter);
  entries.push_back({prefix + launcher, LauncherScript(loader_name, launcher), 0755});
  entries.push_back({prefix + "bin/", "", 0755});
  entries.push_back({prefix + "bin/" + launcher, std::move(program), 0755});
  entries.push_back({prefix + "lib/", "", 0755});
  PG_ASSIGN_OR_RETURN(std::string loader, ReadWholeFile(closure.interpreter));
  entries.push_back({prefix + "lib/" + loader_name, std::move(loader), 0755});
  for (const SharedLibrary& lib : closure.libraries) {
    PG_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(lib.path));
    entries.push_back({prefix + "lib/" + lib.soname, std::move(bytes), 0755});
  }
  return entries;
}

Result<FunctionPackage> BuildFunctionPackage(const std::string& bootstrap_path,
                                             os::ProcessRunner& runner) {
  PG_ASSIGN_OR_RETURN(LibraryClosure closure, FindLibraryClosure(bootstrap_path, runner));
  PG_ASSIGN_OR_RETURN(std::vector<os::ZipEntry> entries,
                      BundleExecutable(bootstrap_path, closure, "", "bootstrap"));
  FunctionPackage package;
  package.architecture = closure.architecture;
  package.bundled_loader = !closure.is_static;
  for (const auto& e : entries) {
    package.files.push_back(e.name);
    package.unzipped_bytes += e.content.size();
  }
  if (package.unzipped_bytes > kMaxUnzippedBytes) {
    return Status::InvalidArgument(
        "the function package would be " + std::to_string(package.unzipped_bytes >> 20) +
        " MB unzipped, over Lambda's 250 MB limit; use a release build of the worker");
  }
  PG_ASSIGN_OR_RETURN(package.zip, os::MakeZip(entries));
  return package;
}

}  // namespace parallelagram::deploy
