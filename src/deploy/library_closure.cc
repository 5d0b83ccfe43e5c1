#include "deploy/library_closure.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace parallelagram::deploy {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "name (0x...)" -> "name"; lines without an address are returned whole.
std::string StripAddress(const std::string& s) {
  size_t p = s.rfind(" (0x");
  return p == std::string::npos ? s : s.substr(0, p);
}

}  // namespace

Result<LibraryClosure> ReadElfHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return Status::InvalidArgument(path + " is not a 64-bit ELF executable; give a program " +
                                   "built for Linux x86_64 or arm64");
  }
  LibraryClosure closure;
  if (eh.e_machine == EM_X86_64) {
    closure.architecture = "x86_64";
  } else if (eh.e_machine == EM_AARCH64) {
    closure.architecture = "arm64";
  } else {
    return Status::InvalidArgument(path + " is built for ELF machine " +
                                   std::to_string(eh.e_machine) +
                                   ", which Lambda does not run; build it for x86_64 or arm64");
  }
  closure.is_static = true;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) {
      return Status::InvalidArgument(path + " has a truncated program header table");
    }
    if (ph.p_type != PT_INTERP) continue;
    std::string interp(ph.p_filesz, '\0');
    in.seekg(static_cast<std::streamoff>(ph.p_offset));
    if (ph.p_filesz == 0 || ph.p_filesz > 4096 || !in.read(interp.data(), ph.p_filesz)) {
      return Status::InvalidArgument(path + " has a corrupt program interpreter entry");
    }
    closure.is_static = false;
    closure.interpreter = interp.c_str();  // drop the terminating NUL
  }
  return closure;
}

Status ParseLddOutput(const std::string& ldd_stdout, const std::string& interpreter,
                      std::vector<SharedLibrary>* libraries) {
  std::istringstream lines(ldd_stdout);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    if (line.empty()) continue;
    size_t arrow = line.find(" => ");
    if (arrow == std::string::npos) {
      // The vDSO ("linux-vdso.so.1 (0x...)") or the loader ("/lib64/ld-linux-x86-64.so.2
      // (0x...)"): neither is a file to ship as a library.
      std::string name = StripAddress(line);
      if (name == interpreter || name.find("vdso") != std::string::npos || name[0] == '/') {
        continue;
      }
      return Status::Internal("unexpected line from ldd: '" + line + "'");
    }
    SharedLibrary lib;
    lib.soname = line.substr(0, arrow);
    std::string where = Trim(line.substr(arrow + 4));
    if (where.rfind("not found", 0) == 0) {
      return Status::NotFound(lib.soname + ", which the program needs, is not found on this " +
                              "machine: install it or add its directory to LD_LIBRARY_PATH");
    }
    lib.path = StripAddress(where);
    if (lib.path.empty() || lib.path[0] != '/') {
      return Status::Internal("unexpected line from ldd: '" + line + "'");
    }
    if (lib.path == interpreter) continue;
    libraries->push_back(std::move(lib));
  }
  return Status::Ok();
}

Result<LibraryClosure> FindLibraryClosure(const std::string& executable,
                                          os::ProcessRunner& runner) {
  PG_ASSIGN_OR_RETURN(LibraryClosure closure, ReadElfHeader(executable));
  if (closure.is_static) return closure;
  os::ProcessSpec spec;
  spec.argv = {"ldd", executable};
  spec.timeout_ms = 60000;
  PG_ASSIGN_OR_RETURN(os::ProcessOutcome out, runner.Run(spec));
  if (!out.started) {
    return Status::NotFound("cannot run ldd to find the libraries of " + executable + " (" +
                            out.error + "); install libc-bin");
  }
  if (out.exit_code != 0) {
    std::string why = Trim(out.stderr_data.substr(0, out.stderr_data.find('\n')));
    return Status::Internal("ldd failed on " + executable + ": " + why);
  }
  PG_RETURN_IF_ERROR(ParseLddOutput(out.stdout_data, closure.interpreter, &closure.libraries));
  return closure;
}

}  // namespace parallelagram::deploy
