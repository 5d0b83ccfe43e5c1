// The subcommands' one way of parsing their options with CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "cli/commands.h"

namespace parallelagram::cli {

// Parses argv into `app`. nullopt: go on. Otherwise the status to exit with: 0 after printing
// --help, kExitUsage after printing a one-line usage error that points to --help.
inline std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s; see --help\n", argv[0], e.what());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace parallelagram::cli
