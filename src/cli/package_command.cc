// parallelagram package: writes the Lambda function zip (the worker with its libraries).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/parse_args.h"
#include "deploy/function_package.h"
#include "driver/local_backend.h"
#include "os/process_runner.h"

namespace parallelagram::cli {
namespace {

// Writes `bytes` to `path` through a temporary beside it, so that a failed write never
// leaves a partial zip under the requested name.
Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IoError("cannot write " + tmp + ": check the directory exists");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return Status::IoError("cannot write " + tmp + " (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

int PackageMain(int argc, char** argv) {
  CLI::App app{
      "Build the Lambda function zip: the worker `bootstrap` with every shared library "
      "it loads, libc and the dynamic loader included, started through that loader, so "
      "it runs on provided.al2023 whatever distribution built it. Deploy it with "
      "`parallelagram deploy`, or with your own tools (runtime provided.al2023, "
      "handler `bootstrap`, the architecture printed).",
      argv[0]};
  std::string output = "parallelagram-function.zip";
  std::string bootstrap;
  app.add_option("-o,--output", output, "where to write the zip")->capture_default_str();
  app.add_option("--bootstrap", bootstrap,
                 "the worker binary to package (default: $PG_BOOTSTRAP, else `bootstrap` beside "
                 "this program)");
  if (auto exit_status = ParseArgs(app, argc, argv)) return *exit_status;
  if (bootstrap.empty()) {
    auto found = driver::FindBootstrap();
    if (!found.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], found.status().message().c_str());
      return kExitUsage;
    }
    bootstrap = *found;
  }
  os::PosixProcessRunner runner;
  auto package = deploy::BuildFunctionPackage(bootstrap, runner);
  if (!package.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], package.status().message().c_str());
    return 1;
  }
  if (Status s = WriteFileAtomically(output, package->zip); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], s.message().c_str());
    return 1;
  }
  std::printf("wrote %s: %zu files, %.1f MB (%.1f MB unzipped), architecture %s, %s\n",
              output.c_str(), package->files.size(), package->zip.size() / 1e6,
              static_cast<double>(package->unzipped_bytes) / 1e6, package->architecture.c_str(),
              package->bundled_loader ? "bootstrap starts through the bundled dynamic loader"
                                      : "bootstrap is statically linked");
  std::printf("deploy it with runtime provided.al2023, handler bootstrap, architecture %s\n",
              package->architecture.c_str());
  return 0;
}

}  // namespace parallelagram::cli
