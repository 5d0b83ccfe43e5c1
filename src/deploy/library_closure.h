// The shared libraries an executable loads, so that it can be shipped with them to a host
// whose libraries differ (Amazon Linux 2023 under Lambda: glibc 2.34, other versions of
// everything else).
//
// The closure is what this machine's dynamic loader resolves for the executable (asked
// through `ldd`, which runs the loader in trace mode: RUNPATH, $ORIGIN and the loader's
// search order are honoured exactly). A program with no PT_INTERP (static or static-pie)
// needs nothing.
//
// Thread-safety: the functions keep no state; ldd runs through the given ProcessRunner.
#pragma once

#include <string>
#include <vector>

#include "os/process_runner.h"
#include "parallelagram/status.h"

namespace parallelagram::deploy {

// A shared library as the loader resolved it.
struct SharedLibrary {
  std::string soname;  // the DT_NEEDED name the program asks for, e.g. "libc.so.6"
  std::string path;    // the file this machine resolved it to (may be a symlink)
};

struct LibraryClosure {
  std::string architecture;  // Lambda's name for the ELF machine: "x86_64" or "arm64"
  bool is_static = false;    // no program interpreter: runs as is anywhere
  std::string interpreter;   // the dynamic loader's path from PT_INTERP ("" when static)
  std::vector<SharedLibrary> libraries;  // every library it loads, in load order,
                                         // without the loader itself and the vDSO
};

// What the ELF file `path` is. Errors: NotFound/IoError when it cannot be read,
// InvalidArgument when it is not a 64-bit ELF executable for x86_64 or aarch64.
Result<LibraryClosure> ReadElfHeader(const std::string& path);

// The full closure of `executable`. Errors as ReadElfHeader, plus NotFound naming the first
// library the loader cannot find ("libfoo.so.1 ... not found: install it or set
// LD_LIBRARY_PATH"), and Internal when ldd fails or says something unexpected.
Result<LibraryClosure> FindLibraryClosure(const std::string& executable, os::ProcessRunner& runner);

// Parses ldd's output for a dynamic executable into `closure` (exposed for tests).
// `interpreter` is the PT_INTERP path, whose line is not a dependency.
Status ParseLddOutput(const std::string& ldd_stdout, const std::string& interpreter,
                      std::vector<SharedLibrary>* libraries);

}  // namespace parallelagram::deploy
