// Executor: runs registered C++ functions (function.h) and processes as tasks of one job, on
// the embedded local Lambda (default: no AWS account, the running program is the worker) or
// on a deployed Lambda function, with the job engine's guarantees (throttle-adaptive
// concurrency, retries by outcome, speculation, the journal: the job shows in `parallelagram
// jobs` and `results`).
//
//   int main(int argc, char** argv) {
//     parallelagram::ServeIfWorker(argc, argv);  // inside Lambda: the worker; never returns
//     parallelagram::Executor ex;
//     auto fs = ex.Map(Simulate, params);         // std::vector<Future<Stats>>
//     for (auto& f : fs) Summarise(f.get());
//   }
//
// The job starts with the first call and ends at Shutdown() (or the destructor), which waits
// for every call. Errors: calling an unregistered function throws std::invalid_argument
// before anything is sent; everything that happens to a call later is its Future's
// TaskError. Thread-safety: every method may be called from any thread, concurrently.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "parallelagram/function.h"
#include "parallelagram/future.h"

namespace parallelagram {

// If this process was started as a Lambda worker (by Lambda, by the embedded local Lambda,
// or to run one call), serves that role and exits; otherwise returns at once. Call it first
// thing in main(), before anything with side effects.
void ServeIfWorker(int argc, char** argv);

// The library's version ("0.1.0").
const char* LibraryVersion();

struct ExecutorOptions {
  // "local": the embedded local Lambda runs this program (ServeIfWorker) as the worker.
  // "aws": the deployed function (`parallelagram deploy --bootstrap ./this-program`), whose
  // code must be this very build (checked before anything is sent).
  std::string backend = "local";
  int max_in_flight = 0;     // calls running at once (run's -j); 0: the number of cores
  int attempts = 1;          // attempts per call in total (run's --retries)
  double timeout_s = 0;      // per call; 0: the function's limit (900 s)
  int64_t memory_mb = 1024;  // the function's memory (local: per environment)
  bool speculate = true;     // duplicate stragglers (run's --speculate auto)
  bool progress = false;     // a progress line and notices on stderr
  std::string job_id;        // "" = a new id
  std::string state_dir;     // the state root ("" = as `run`: $XDG_STATE_HOME/parallelagram, ...)
  // The AWS backend, chosen as `run --backend aws` chooses: function_name picks one of the
  // recorded deployments ("" = $PARALLELAGRAM_FUNCTION, else the only one recorded); bucket
  // ("" = $PARALLELAGRAM_BUCKET, else the deployment's); deployment_config = run's --config.
  std::string function_name;
  std::string bucket;
  std::string deployment_config;
};

struct CallOptions {
  double timeout_s = 0;  // 0: the executor's
};

struct ProcessOptions {
  std::vector<std::string> transfer;  // local files shipped to the task's directory
  std::vector<std::string> returns;   // files brought back after it ran
  std::string stdin_data;
  std::map<std::string, std::string> env;
  double timeout_s = 0;  // 0: the executor's
};

class Executor {
 public:
  explicit Executor(ExecutorOptions options = {});
  // Shutdown(): waits for every call.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Calls registered function `f` with `args` (converted to its parameter types).
  template <class R, class... A, class... Args>
  Future<R> Call(R (*f)(A...), Args&&... args) {
    return CallWith(CallOptions{}, f, std::forward<Args>(args)...);
  }
  template <class R, class... A, class... Args>
  Future<R> CallWith(const CallOptions& o, R (*f)(A...), Args&&... args) {
    static_assert(detail::CheckSignature<R, A...>());
    std::string bytes = detail::EncodeArgs<A...>(std::forward<Args>(args)...);
    return Future<R>(Submit(reinterpret_cast<detail::AnyFunction>(f), std::move(bytes), o));
  }
  // One call per element of `inputs`: the argument itself for a one-parameter function, a
  // std::tuple (or pair) of the arguments otherwise. Futures in the order of `inputs`.
  template <class R, class... A, class Range>
  std::vector<Future<R>> Map(R (*f)(A...), const Range& inputs, const CallOptions& o = {}) {
    std::vector<Future<R>> out;
    if constexpr (requires { std::size(inputs); }) out.reserve(std::size(inputs));
    for (const auto& in : inputs) {
      if constexpr (sizeof...(A) == 1) {
        out.push_back(CallWith(o, f, in));
      } else {
        out.push_back(std::apply([&](const auto&... xs) { return CallWith(o, f, xs...); }, in));
      }
    }
    return out;
  }
  // Runs `argv` as a process task, as a CLI task runs. get() gives its ProcessResult when it
  // exited (any exit code) and throws TaskError when it did not (timed out, crashed, ...).
  Future<ProcessResult> Run(std::vector<std::string> argv, ProcessOptions options = {});

  // Starts nothing new and abandons running calls: every call not finished ends with a
  // TaskError (ran = false for those never started). Returns once the job has ended.
  void Cancel();
  // No more calls: waits for every call to end. Idempotent; calls after it fail at once.
  void Shutdown();
  // The job's id (`parallelagram results ID`).
  const std::string& job_id() const;

 private:
  std::shared_ptr<detail::CallState> Submit(detail::AnyFunction f, std::string args,
                                            const CallOptions& o);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parallelagram
