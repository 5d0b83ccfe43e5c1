// Placeholder until this command is implemented.
#include <cstdio>

#include "cli/commands.h"

namespace parallelagram::cli {
int DoctorMain(int /*argc*/, char** argv) {
  std::fprintf(stderr, "%s: not implemented yet\n", argv[0]);
  return kExitUsage;
}
}  // namespace parallelagram::cli
