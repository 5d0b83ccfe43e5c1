// parallelagram: the command-line tool. Dispatches to one subcommand.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*main)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"run", parallelagram::cli::RunMain, "run a command over many inputs on Lambda (or locally)"},
    {"jobs", parallelagram::cli::JobsMain, "list past jobs with their task counts"},
    {"results", parallelagram::cli::ResultsMain, "print or export a job's results"},
    {"report", parallelagram::cli::ReportMain, "write a job's timeline, cost and summary as one HTML page"},
    {"cancel", parallelagram::cli::CancelMain, "stop a running job (and its queued Lambda events)"},
    {"local-lambda", parallelagram::cli::LocalLambdaMain, "serve the AWS Lambda API locally"},
    {"doctor", parallelagram::cli::DoctorMain, "check AWS credentials, region, endpoints and function"},
    {"package", parallelagram::cli::PackageMain, "build the Lambda function zip (worker and its libraries)"},
    {"deploy", parallelagram::cli::DeployMain, "create or update the worker function on AWS"},
    {"destroy", parallelagram::cli::DestroyMain, "remove what deploy created"},
};

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: parallelagram <command> [options]\n\n"
               "Runs embarrassingly parallel work on AWS Lambda, or on an embedded local Lambda.\n\n"
               "commands:\n");
  for (const auto& c : kCommands) std::fprintf(out, "  %-14s %s\n", c.name, c.help);
  std::fprintf(out, "\n'parallelagram <command> --help' describes a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return parallelagram::cli::kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    Usage(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("parallelagram %s\n", PG_VERSION);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (cmd == c.name) {
      std::string name = std::string("parallelagram ") + c.name;
      argv[1] = name.data();
      return c.main(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr,
               "parallelagram: unknown command '%s'; run 'parallelagram --help' for the list\n",
               cmd.c_str());
  return parallelagram::cli::kExitUsage;
}
