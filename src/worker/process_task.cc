#include "worker/process_task.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

namespace parallelagram {
namespace fs = std::filesystem;

namespace {

// Writes the files `parts` one after the other to `dest`.
Status ConcatenateFiles(const std::vector<std::string>& parts, const std::string& dest) {
  std::ofstream out(dest, std::ios::binary | std::ios::trunc);
  for (const auto& p : parts) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return Status::NotFound("stdin part " + p + " is not among the staged files");
    if (in.peek() != std::char_traits<char>::eof()) out << in.rdbuf();
  }
  out.flush();
  if (!out) return Status::IoError("cannot write " + dest);
  return Status::Ok();
}

constexpr int64_t kMinMarginMs = 200;
constexpr int64_t kMaxMarginMs = 2000;

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// Removes `dir` and everything under it, making unreadable directories readable first.
void RemoveTree(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) return;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(dir.c_str(), 0700);
  fs::remove_all(dir, ec);
  if (ec)
    std::fprintf(stderr, "parallelagram worker: cannot remove %s: %s\n", dir.c_str(),
                 ec.message().c_str());
}

int64_t RoundMs(int64_t us) { return (us + 500) / 1000; }

// The live copy of a process's output (TaskEvent::live_output): PREFIX.stdout and
// PREFIX.stderr, which the driver made, opened for appending; a file that cannot be opened
// (or written) is skipped: the result still carries the output.
class LiveCopy {
 public:
  explicit LiveCopy(const std::string& prefix) {
    if (prefix.empty()) return;
    fds_[0] = ::open((prefix + ".stdout").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    fds_[1] = ::open((prefix + ".stderr").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  }
  ~LiveCopy() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  LiveCopy(const LiveCopy&) = delete;
  LiveCopy& operator=(const LiveCopy&) = delete;
  bool active() const { return fds_[0] >= 0 || fds_[1] >= 0; }
  void Write(bool is_stderr, const char* data, size_t n) {
    int& fd = fds_[is_stderr ? 1 : 0];
    while (fd >= 0 && n > 0) {
      ssize_t w = ::write(fd, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ::close(fd);
        fd = -1;
        return;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace

int64_t DeadlineMarginMs(int64_t remaining_ms) {
  return std::clamp<int64_t>(remaining_ms / 10, kMinMarginMs, kMaxMarginMs);
}

int64_t TaskTimeoutMs(int64_t task_timeout_ms, int64_t deadline_epoch_ms, int64_t now_epoch_ms) {
  int64_t t = task_timeout_ms > 0 ? task_timeout_ms : 0;
  if (deadline_epoch_ms > 0) {
    int64_t remaining = deadline_epoch_ms - now_epoch_ms;
    int64_t budget = remaining - DeadlineMarginMs(remaining);
    if (budget <= 0) return -1;
    t = t > 0 ? std::min(t, budget) : budget;
  }
  return t;
}

ProcessTaskHandler::ProcessTaskHandler(os::ProcessRunner* runner, Blobs* blobs, const Clock* clock)
    : runner_(runner), blobs_(blobs), clock_(clock) {}

Status ProcessTaskHandler::Init(const InvocationContext& env) {
  struct stat st;
  if (::stat(env.tmp_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access(env.tmp_dir.c_str(), W_OK | X_OK) != 0) {
    return Status::IoError("the scratch root " + env.tmp_dir +
                           " is not a writable directory: set TMPDIR to one");
  }
  scratch_files_ = std::make_unique<ScratchFiles>(blobs_, env.tmp_dir + "/pg-cache");
  return Status::Ok();
}

Result<TaskResult> ProcessTaskHandler::Run(const TaskEvent& e, const InvocationContext& ctx) {
  if (e.argv.empty() || e.argv[0].empty()) {
    return Status::InvalidArgument(
        "the task event has no program: 'argv' must start with a non-empty string");
  }
  if (!e.cwd.empty()) PG_RETURN_IF_ERROR(CheckRelativePath(e.cwd, "cwd"));
  for (const auto& p : e.stdin_files) PG_RETURN_IF_ERROR(CheckRelativePath(p, "stdin_files[]"));
  for (const auto& f : e.files) PG_RETURN_IF_ERROR(CheckRelativePath(f.path, "files[].path"));
  for (const auto& p : e.returns) PG_RETURN_IF_ERROR(CheckRelativePath(p, "returns[]"));
  if (!e.returns.empty() && e.output_uri.empty()) {
    return Status::InvalidArgument(
        "the event lists 'returns' but no 'output_uri' to store them at");
  }
  if (e.timeout_ms < 0) return Status::InvalidArgument("'timeout_ms' must not be negative");
  if (e.max_output_bytes < 0)
    return Status::InvalidArgument("'max_output_bytes' must not be negative");
  for (const auto& [k, v] : e.env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
        v.find('\0') != std::string::npos) {
      return Status::InvalidArgument("env name '" + k + "' is not a valid variable name");
    }
  }
  for (const auto& a : e.argv) {
    if (a.find('\0') != std::string::npos)
      return Status::InvalidArgument("an argv string holds a NUL byte");
  }
  if (!scratch_files_)
    scratch_files_ = std::make_unique<ScratchFiles>(blobs_, ctx.tmp_dir + "/pg-cache");

  TaskResult r;
  r.task_id = e.task_id;
  std::string tmpl = ctx.tmp_dir + "/pg-task-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    r.outcome = Outcome::kStagingError;
    r.error = "cannot create a scratch directory under " + ctx.tmp_dir + ": " + strerror(errno);
    return r;
  }
  RunInScratch(e, ctx, tmpl, r);
  RemoveTree(tmpl);
  return r;
}

void ProcessTaskHandler::RunInScratch(const TaskEvent& e, const InvocationContext& ctx,
                                      const std::string& scratch, TaskResult& r) {
  // A stdin part the driver stored on this machine (file://, whole: the local backend's --pipe
  // blocks) is read where it is, not copied; its size is checked.
  std::vector<StagedFile> to_place;
  std::map<std::string, std::string> in_place;  // stdin part's path -> its local file
  for (const StagedFile& f : e.files) {
    const bool stdin_part =
        std::find(e.stdin_files.begin(), e.stdin_files.end(), f.path) != e.stdin_files.end();
    if (stdin_part && !f.offset && UriScheme(f.uri) == "file") {
      auto local = FileUriPath(f.uri);
      struct stat st;
      if (local.ok() && ::stat(local->c_str(), &st) == 0 &&
          static_cast<uint64_t>(st.st_size) == f.size) {
        in_place[f.path] = *local;
        continue;
      }
    }
    to_place.push_back(f);
  }
  Status staged = scratch_files_->PlaceInputs(to_place, scratch);
  if (!staged.ok()) {
    r.outcome = Outcome::kStagingError;
    r.error = staged.message();
    return;
  }
  os::ProcessSpec spec;
  spec.argv = e.argv;
  spec.shell = e.shell;
  spec.env = e.env;
  spec.stdin_data = e.stdin_data;
  std::vector<std::string> stdin_paths;
  for (const auto& p : e.stdin_files) {
    auto it = in_place.find(p);
    stdin_paths.push_back(it != in_place.end() ? it->second : scratch + "/" + p);
  }
  if (stdin_paths.size() == 1) {
    spec.stdin_file = stdin_paths[0];
  } else if (!stdin_paths.empty()) {  // one file of them all (a header is small)
    spec.stdin_file = scratch + "/.pg-stdin";
    Status joined = ConcatenateFiles(stdin_paths, spec.stdin_file);
    if (!joined.ok()) {
      r.outcome = Outcome::kStagingError;
      r.error = joined.message();
      return;
    }
  }
  spec.cwd = e.cwd.empty() ? scratch : scratch + "/" + e.cwd;
  std::error_code ec;
  fs::create_directories(spec.cwd, ec);
  spec.max_output_bytes = e.max_output_bytes;
  const int64_t timeout = TaskTimeoutMs(e.timeout_ms, ctx.deadline_epoch_ms, clock_->NowEpochMs());
  const bool deadline_bound = timeout > 0 && (e.timeout_ms <= 0 || timeout < e.timeout_ms);
  if (timeout < 0) {
    r.outcome = Outcome::kTimedOut;
    r.error =
        "not started: the invocation deadline leaves no time to run and report; raise the function "
        "timeout";
    return;
  }
  spec.timeout_ms = timeout;
  LiveCopy live(e.live_output);
  if (live.active()) {
    spec.on_output = [&live](bool is_stderr, const char* data, size_t n) {
      live.Write(is_stderr, data, n);
    };
  }

  Result<os::ProcessOutcome> ran = runner_->Run(spec);
  if (!ran.ok()) {
    r.outcome = Outcome::kFailed;
    r.error = "the worker could not run the process: " + ran.status().message();
    return;
  }
  os::ProcessOutcome& o = ran.value();
  r.exit_code = o.exit_code;
  r.signal = o.signal;
  r.stdout_data = std::move(o.stdout_data);
  r.stderr_data = std::move(o.stderr_data);
  r.stdout_truncated = o.stdout_truncated;
  r.stderr_truncated = o.stderr_truncated;
  r.stdout_bytes = o.stdout_bytes;
  r.stderr_bytes = o.stderr_bytes;
  r.wall_ms = RoundMs(o.wall_us);
  r.cpu_user_ms = RoundMs(o.cpu_user_us);
  r.cpu_sys_ms = RoundMs(o.cpu_sys_us);
  r.max_rss_kb = o.max_rss_kb;

  if (!o.started) {
    r.outcome = Outcome::kFailed;
    r.error = o.error;
    return;  // nothing ran: nothing to return
  }
  if (o.timed_out && o.signal == SIGKILL) {
    r.outcome = Outcome::kTimedOut;
    r.error = deadline_bound
                  ? "killed after " + std::to_string(timeout) +
                        " ms to report before the invocation deadline; raise the function timeout"
                  : "killed at its timeout_ms of " + std::to_string(timeout) + " ms";
  } else if (o.exit_code) {
    r.outcome = *o.exit_code == 0 ? Outcome::kSucceeded : Outcome::kFailed;
    if (*o.exit_code != 0) r.error = "exited with status " + std::to_string(*o.exit_code);
  } else if (o.signal) {
    bool near_limit = ctx.memory_limit_mb > 0 &&
                      static_cast<double>(o.max_rss_kb) >=
                          kOomRssShare * 1024.0 * static_cast<double>(ctx.memory_limit_mb);
    if (*o.signal == SIGKILL && near_limit) {
      r.outcome = Outcome::kOutOfMemory;
      r.error = "killed by SIGKILL with peak RSS " + std::to_string(o.max_rss_kb / 1024) +
                " MB of the function's " + std::to_string(ctx.memory_limit_mb) +
                " MB: out of memory; raise the function memory";
    } else {
      r.outcome = Outcome::kCrashed;
      r.error = "killed by " + SignalName(*o.signal);
    }
  } else {
    r.outcome = Outcome::kCrashed;
    r.error = "ended without an exit status";
  }

  auto returned = scratch_files_->StoreReturns(e.returns, scratch, e.output_uri);
  if (returned.ok()) {
    r.returned = std::move(returned.value());
  } else if (r.outcome == Outcome::kSucceeded) {
    r.outcome = Outcome::kStagingError;
    r.error = returned.status().message();
  } else {
    r.error += "; also: " + returned.status().message();
  }
}

namespace {

class DefaultProcessHandler : public TaskHandler {
 public:
  DefaultProcessHandler()
      : blobs_(Blobs::WithDefaults()), handler_(&runner_, blobs_.get(), &SystemClock::Get()) {}
  Status Init(const InvocationContext& env) override { return handler_.Init(env); }
  Result<TaskResult> Run(const TaskEvent& e, const InvocationContext& ctx) override {
    return handler_.Run(e, ctx);
  }

 private:
  os::PosixProcessRunner runner_;
  std::unique_ptr<Blobs> blobs_;
  ProcessTaskHandler handler_;
};

}  // namespace

std::unique_ptr<TaskHandler> MakeDefaultProcessHandler() {
  return std::make_unique<DefaultProcessHandler>();
}

}  // namespace parallelagram
