// The Lambda function package: a zip that runs the worker on provided.al2023 whatever
// distribution built it.
//
// A statically linked worker goes in as the zip's `bootstrap`. A dynamically linked one goes
// in as `bin/bootstrap` with every shared library it loads, libc and the dynamic loader
// included, under `lib/`; the zip's `bootstrap` is then a /bin/sh launcher that starts it
// through the bundled loader (`lib/ld-linux-*.so.* --library-path lib bin/bootstrap`), so
// nothing of the host's libraries is used. Processes the worker starts use the host's
// loader and libraries as usual (--library-path is not inherited).
//
// The same bundling serves any executable (a user's tool shipped with a job).
//
// Thread-safety: no shared state; ldd runs through the given ProcessRunner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deploy/library_closure.h"
#include "os/process_runner.h"
#include "os/zip_util.h"
#include "parallelagram/status.h"

namespace parallelagram::deploy {

// Zip entries that make `executable` runnable as `dir/<launcher>` (dir "" = the zip's root):
// for a static program, the program itself under that name; for a dynamic one, a launcher
// script there plus `dir/bin/<launcher>`, `dir/lib/<loader>` and `dir/lib/<soname>...`.
// `closure` must be FindLibraryClosure(executable). Errors: IoError when a file cannot be read.
Result<std::vector<os::ZipEntry>> BundleExecutable(const std::string& executable,
                                                   const LibraryClosure& closure,
                                                   const std::string& dir,
                                                   const std::string& launcher);

// The launcher script for a bundle whose loader is lib/<loader_name> and program bin/<program>.
std::string LauncherScript(const std::string& loader_name, const std::string& program);

struct FunctionPackage {
  std::string zip;           // the zip's bytes (deterministic for the same inputs)
  std::string architecture;  // "x86_64" or "arm64": the function's Architectures
  bool bundled_loader = false;
  std::vector<std::string> files;  // entry names, in zip order
  uint64_t unzipped_bytes = 0;
};

// Builds the function package around the worker binary `bootstrap_path`.
// Errors: those of FindLibraryClosure and BundleExecutable; InvalidArgument when the result
// would exceed Lambda's 250 MB unzipped limit.
Result<FunctionPackage> BuildFunctionPackage(const std::string& bootstrap_path,
                                             os::ProcessRunner& runner);

}  // namespace parallelagram::deploy
