#include "api/function_handler.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "api/worker_identity.h"
#include "common/clock.h"
#include "os/process_runner.h"
#include "parallelagram/executor.h"
#include "parallelagram/function.h"
#include "worker/blob_store.h"
#include "worker/process_task.h"

namespace parallelagram::api {

namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;
    }
  }
}

bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// The "process" handler's runner, with every child a fork running RunCallChild.
class CallRunner : public os::ProcessRunner {
 public:
  Result<os::ProcessOutcome> Run(const os::ProcessSpec& spec) override {
    os::ProcessSpec call = spec;
    call.in_child = &RunCallChild;
    return real_.Run(call);
  }

 private:
  os::PosixProcessRunner real_;
};

class FunctionTaskHandler : public TaskHandler {
 public:
  explicit FunctionTaskHandler(std::string program) : program_(std::move(program)) {}
  Status Init(const InvocationContext& env) override { return process_.Init(env); }

  Result<TaskResult> Run(const TaskEvent& e, const InvocationContext& ctx) override {
    if (!detail::FindFunction(e.function)) {
      TaskResult r;
      r.outcome = Outcome::kFailed;
      r.error_type = "parallelagram::UnknownFunction";
      r.error = "function " + e.function +
                " is not in this worker's build: redeploy the program that calls it";
      return r;
    }
    TaskEvent p = e;
    p.kind = "process";
    p.argv = {program_};
    p.shell = false;
    p.env[kCallEnv] = e.function;
    PG_ASSIGN_OR_RETURN(TaskResult r, process_.Run(p, ctx));
    if (r.outcome != Outcome::kFailed || !r.exit_code) return r;
    if (*r.exit_code == kExitThrew) {
      try {
        nlohmann::json j = detail::FromBytes(r.stdout_data);
        r.error_type = j.value("type", "");
        r.error = j.value("what", "");
      } catch (const std::exception&) {
        r.error = "the function threw (its report was lost)";
      }
      r.stdout_data.clear();
    } else if (*r.exit_code == kExitUnknownFunction) {
      r.error_type = "parallelagram::UnknownFunction";
      r.error = "function " + e.function + " is not in this worker's build";
    }
    return r;
  }

 private:
  std::string program_;
  CallRunner runner_;
  std::unique_ptr<Blobs> blobs_ = Blobs::WithDefaults();
  ProcessTaskHandler process_{&runner_, blobs_.get(), &SystemClock::Get()};
};

}  // namespace

std::unique_ptr<TaskHandler> MakeFunctionTaskHandler(std::string program) {
  return std::make_unique<FunctionTaskHandler>(std::move(program));
}

int RunCallChild() {
  const char* name = std::getenv(kCallEnv);
  // The result goes to the original stdout; what the function prints goes to stderr.
  const int result_fd = ::dup(STDOUT_FILENO);
  if (result_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::fprintf(stderr, "parallelagram: cannot set up the call's output\n");
    return 1;
  }
  const detail::RegisteredFunction* f = name ? detail::FindFunction(name) : nullptr;
  if (!f) {
    std::fprintf(stderr, "parallelagram: function %s is not in this build\n", name ? name : "");
    return kExitUnknownFunction;
  }
  const std::string args = ReadAll(STDIN_FILENO);
  std::string out;
  int status = 0;
  auto threw = [&](const std::string& type, const std::string& what) {
    std::fprintf(stderr, "%s: %s\n", type.c_str(), what.c_str());
    out = detail::ToBytes(nlohmann::json{{"type", type}, {"what", what}});
    status = kExitThrew;
  };
  try {
    out = f->invoke(f->address, args);
  } catch (const std::exception& e) {
    threw(detail::Demangle(typeid(e).name()), e.what());
  } catch (...) {
    threw("unknown", "a non-standard exception");
  }
  std::fflush(stdout);
  if (!WriteAll(result_fd, out)) return 1;
  return status;
}

}  // namespace parallelagram::api

namespace parallelagram {

void ServeIfWorker(int argc, char** argv) {
  if (const char* call = std::getenv(api::kCallEnv); call && *call) {
    std::fflush(stdout);
    std::_Exit(api::RunCallChild());
  }
  const char* runtime = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (!runtime || !*runtime || std::getenv(api::kServingEnv)) return;
  ::setenv(api::kServingEnv, "1", 1);
  const std::string program = argc > 0 && argv[0] ? argv[0] : WorkerExecutable();
  RegisterTaskHandler("function", api::MakeFunctionTaskHandler(program));
  std::exit(RunWorker());
}

}  // namespace parallelagram
