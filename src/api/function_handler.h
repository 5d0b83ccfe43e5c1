// The worker side of registered functions (parallelagram/function.h).
//
// A program that calls ServeIfWorker is its own Lambda worker: started by a runtime (Lambda,
// or the local backend's embedded Lambda, with AWS_LAMBDA_RUNTIME_API set), it registers
// FunctionTaskHandler for kind "function" and runs the stock worker loop (RunWorker), which
// keeps the kinds "process" and "noop" too.
//
// FunctionTaskHandler runs each call in a child process, a fork of the worker (no new exec of
// the program: ~1 ms, not the tens of ms of loading it and its libraries again) that runs
// RunCallChild (kCallEnv names the function): the call's serialised arguments on its stdin,
// its serialised result on its stdout, through the "process" handler's machinery (its own
// runner, os::ProcessSpec::in_child), so a call gets what a process task gets: its
// timeout, output limits, spill of big results, and a crash (SIGSEGV, abort, the OOM killer)
// that ends that call as crashed / out_of_memory while the environment goes on. In the child,
// what the function itself prints to stdout goes to stderr. A function that throws ends as
// failed with TaskResult::error_type and error (its type and what()).
// Thread-safety: as any TaskHandler (the worker's one thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parallelagram/worker.h"

namespace parallelagram::api {

// Set in a call's child: the function to run.
inline constexpr const char* kCallEnv = "PARALLELAGRAM_CALL";
// Set by a serving worker in its own environment, so that its children (process tasks that
// happen to run this program) do not serve as workers themselves.
inline constexpr const char* kServingEnv = "PARALLELAGRAM_WORKER_SERVING";
// A call's child exits with these when the function threw / is not in this build.
inline constexpr int kExitThrew = 70;
inline constexpr int kExitUnknownFunction = 71;

// `program`: this program's name, for messages (each call's child is a fork of the worker).
std::unique_ptr<TaskHandler> MakeFunctionTaskHandler(std::string program);

// In a call's child (forked, or this program started with kCallEnv set): reads the arguments from
// stdin, runs the function named by kCallEnv and writes its result to stdout. Returns the exit
// status.
int RunCallChild();

}  // namespace parallelagram::api
