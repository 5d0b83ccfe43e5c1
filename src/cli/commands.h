// Entry points of the CLI's subcommands. Each gets the arguments after the
// subcommand name (argv[0] is "parallelagram <name>") and returns the process
// exit status. Usage errors print one line to stderr and return kExitUsage.
#pragma once

#include <cstdio>
#include <string>

namespace parallelagram::cli {

inline constexpr int kExitUsage = 255;

// One line of what a command did, on stdout, flushed at once.
inline void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int RunMain(int argc, char** argv);          // run_command.cc: fan a command out over inputs
int JobsMain(int argc, char** argv);         // jobs_command.cc: list past jobs
int ResultsMain(int argc, char** argv);      // jobs_command.cc: print/export a job's results
int LocalLambdaMain(int argc, char** argv);  // local_lambda_command.cc: the local Lambda service
int DoctorMain(int argc, char** argv);       // doctor_command.cc: AWS setup check
int PackageMain(int argc, char** argv);      // package_command.cc: build the function zip
int DeployMain(int argc, char** argv);       // deploy_command.cc: set the function up on AWS
int DestroyMain(int argc, char** argv);      // deploy_command.cc: remove what deploy made
int ReportMain(int argc, char** argv);       // report_command.cc: a job's HTML report
int CancelMain(int argc, char** argv);       // cancel_command.cc: stop a job and its queue

}  // namespace parallelagram::cli
