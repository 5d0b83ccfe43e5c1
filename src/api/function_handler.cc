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
#include "parallelagram/executor.h"
#include "parallelagram/function.h"
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

class FunctionTaskHandler : public TaskHandler {
 public:
  explicit FunctionTaskHandler(std::vector<std::string> launch) : launch_(std::move(launch)) {}
  Status Init(const InvocationContext& env) override {
    if (launch_.empty() || launch_[0].empty()) {
      return Status::Internal("cannot locate this executable (/proc/self/exe)");
    }
    return process_->Init(env);
  }

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
    p.argv = launch_;
    p.shell = false;
    p.env[kCallEnv] = e.function;
    PG_ASSIGN_OR_RETURN(TaskResult r, process_->Run(p, ctx));
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
  std::vector<std::string> launch_;
  std::unique_ptr<TaskHandler> process_ = MakeDefaultProcessHandler();
};

}  // namespace

std::unique_ptr<TaskHandler> MakeFunctionTaskHandler(std::vector<std::string> launch) {
  return std::make_unique<FunctionTaskHandler>(std::move(launch));
}

std::vector<std::string> LaunchCommand(const std::string& self_exe, const std::string& argv0) {
  namespace fs = std::filesystem;
  const std::string base = fs::path(self_exe).filename().string();
  const bool loader = base.rfind("ld-", 0) == 0 && base.find(".so") != std::string::npos;
  if (!loader || argv0.empty()) return {self_exe};
  // Started as `lib/ld-linux-*.so.* --library-path lib bin/PROGRAM` (function_package.h):
  // the loader put the program's path in argv[0].
  std::error_code ec;
  fs::path program = fs::absolute(argv0, ec);
  return {self_exe, "--library-path", fs::path(self_exe).parent_path().string(),
          ec ? argv0 : program.string()};
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
  RegisterTaskHandler("function", api::MakeFunctionTaskHandler(api::LaunchCommand(
                                      WorkerExecutable(), argc > 0 && argv[0] ? argv[0] : "")));
  std::exit(RunWorker());
}

}  // namespace parallelagram
