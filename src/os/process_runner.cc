#include "os/process_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

extern char** environ;

namespace parallelagram::os {
namespace {

// Once the main process has exited, stray output holders get this long to close.
constexpr int64_t kDrainGraceUs = 100'000;
// Without a pidfd, how often the loop looks for the child's exit.
constexpr int kPollTickMs = 5;

int64_t MonoUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status MakePipe(Fd& r, Fd& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("cannot create a pipe: ") + strerror(errno));
  }
  r = Fd(p[0]);
  w = Fd(p[1]);
  return Status::Ok();
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Capture {
  std::string* data;
  bool* truncated;
  uint64_t* total;
  size_t limit;
  const std::function<void(bool, const char*, size_t)>* on_output;
  bool is_stderr;
  void Add(const char* buf, size_t n) {
    if (*on_output) (*on_output)(is_stderr, buf, n);
    *total += n;
    size_t room = data->size() < limit ? limit - data->size() : 0;
    size_t take = std::min(room, n);
    data->append(buf, take);
    if (take < n) *truncated = true;
  }
};

// Reads what is available; returns false at EOF or a hard error.
bool Drain(int fd, Capture& c) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      c.Add(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos && extra.count(kv.substr(0, eq))) continue;
    out.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::optional<std::string> FindInPath(const std::string& argv0, const std::string& path) {
  if (argv0.empty()) return std::nullopt;
  if (argv0.find('/') != std::string::npos) return argv0;
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + argv0;
    struct stat st;
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(cand.c_str(), X_OK) == 0) {
      return cand;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

PosixProcessRunner::PosixProcessRunner() { ::signal(SIGPIPE, SIG_IGN); }

Result<ProcessOutcome> PosixProcessRunner::Run(const ProcessSpec& spec) {
  ProcessOutcome out;
  if (spec.argv.empty()) return Status::InvalidArgument("the process has no argv");
  const int64_t t0 = MonoUs();

  // What to exec.
  std::vector<std::string> args;
  std::string program;
  if (spec.in_child) {
    program = spec.argv[0];  // not exec'd: names the child in messages
  } else if (spec.shell) {
    program = "/bin/sh";
    args = {"sh", "-c"};
    args.insert(args.end(), spec.argv.begin(), spec.argv.end());
  } else {
    std::string path;
    if (auto it = spec.env.find("PATH"); it != spec.env.end()) {
      path = it->second;
    } else if (const char* p = ::getenv("PATH")) {
      path = p;
    } else {
      path = "/usr/local/bin:/usr/bin:/bin";
    }
    auto found = FindInPath(spec.argv[0], path);
    if (!found) {
      out.exit_code = 127;
      out.error = "program not found: " + spec.argv[0];
      out.wall_us = MonoUs() - t0;
      return out;
    }
    program = *found;
    args = spec.argv;
  }
  std::vector<std::string> envs = BuildEnv(spec.env);
  std::vector<char*> argv_c = CStrings(args);
  std::vector<char*> envp_c = CStrings(envs);

  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  PG_RETURN_IF_ERROR(MakePipe(in_r, in_w));
  if (!spec.stdin_file.empty()) {  // the file replaces the pipe's read end as stdin
    Fd file(::open(spec.stdin_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.get() < 0) {
      out.exit_code = 126;
      out.error = "cannot open stdin file " + spec.stdin_file + ": " + strerror(errno);
      out.wall_us = MonoUs() - t0;
      return out;
    }
    in_r = std::move(file);
  }
  PG_RETURN_IF_ERROR(MakePipe(out_r, out_w));
  PG_RETURN_IF_ERROR(MakePipe(err_r, err_w));

  const int kDefaultSignals[] = {SIGPIPE, SIGINT,  SIGQUIT, SIGTERM,
                                 SIGHUP,  SIGCHLD, SIGUSR1, SIGUSR2};
  pid_t pid = -1;
  int rc = 0;
  if (spec.in_child) {
    std::fflush(nullptr);  // nothing buffered here is written twice by the child
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : kDefaultSignals) ::signal(sig, SIG_DFL);
      ::dup2(in_r.get(), 0);
      ::dup2(out_w.get(), 1);
      ::dup2(err_w.get(), 2);
      for (int fd : {in_r.get(), in_w.get(), out_r.get(), out_w.get(), err_r.get(), err_w.get()}) {
        if (fd > 2) ::close(fd);
      }
      if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) ::_exit(126);
      for (const auto& [k, v] : spec.env) ::setenv(k.c_str(), v.c_str(), 1);
      ::_exit(spec.in_child());
    }
    if (pid < 0) {
      rc = errno;
    } else {
      ::setpgid(pid, pid);  // also here: the group exists before we may kill it
    }
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec.cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : kDefaultSignals) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = ::posix_spawn(&pid, program.c_str(), &fa, &attr, argv_c.data(), envp_c.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  in_r.Close();
  out_w.Close();
  err_w.Close();
  if (rc != 0) {
    if (rc == ENOENT && !spec.cwd.empty() && ::access(spec.cwd.c_str(), F_OK) != 0) {
      out.exit_code = 126;
      out.error = "working directory does not exist: " + spec.cwd;
    } else if (rc == ENOENT) {
      out.exit_code = 127;
      out.error = "program not found: " + spec.argv[0];
    } else {
      out.exit_code = 126;
      out.error = "cannot execute " + (spec.shell ? program : spec.argv[0]) + ": " + strerror(rc);
    }
    out.wall_us = MonoUs() - t0;
    return out;
  }
  out.started = true;

  Fd pidfd(
      static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));  // -1 on old kernels: we poll instead
  SetNonBlocking(in_w.get());
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());
  if (spec.stdin_data.empty() || !spec.stdin_file.empty()) in_w.Close();

  size_t limit = spec.max_output_bytes > 0 ? static_cast<size_t>(spec.max_output_bytes) : 0;
  Capture cout_cap{
      &out.stdout_data, &out.stdout_truncated, &out.stdout_bytes, limit, &spec.on_output, false};
  Capture cerr_cap{
      &out.stderr_data, &out.stderr_truncated, &out.stderr_bytes, limit, &spec.on_output, true};
  size_t stdin_off = 0;
  const int64_t deadline = spec.timeout_ms > 0 ? t0 + spec.timeout_ms * 1000 : INT64_MAX;
  bool exited = false;      // the main process is a zombie (or reaped)
  int64_t drain_until = 0;  // after exit: stop waiting for EOF at this time

  for (;;) {
    if (!exited) {
      siginfo_t si;
      si.si_pid = 0;
      if (::waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
        exited = true;
        ::kill(-pid, SIGKILL);  // leftovers in its group; the zombie keeps the pgid reserved
        drain_until = MonoUs() + kDrainGraceUs;
      }
    }
    if (exited && out_r.get() < 0 && err_r.get() < 0) break;
    int64_t now = MonoUs();
    if (!exited && now >= deadline) {
      out.timed_out = true;
      ::kill(-pid, SIGKILL);
      in_w.Close();
    }
    if (exited && now >= drain_until) break;

    pollfd fds[4];
    int n = 0;
    int i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
    if (out_r.get() >= 0) {
      fds[n] = {out_r.get(), POLLIN, 0};
      i_out = n++;
    }
    if (err_r.get() >= 0) {
      fds[n] = {err_r.get(), POLLIN, 0};
      i_err = n++;
    }
    if (in_w.get() >= 0) {
      fds[n] = {in_w.get(), POLLOUT, 0};
      i_in = n++;
    }
    if (!exited && pidfd.get() >= 0) {
      fds[n] = {pidfd.get(), POLLIN, 0};
      i_pid = n++;
    }
    int64_t wait_us =
        exited ? drain_until - now : (out.timed_out ? kPollTickMs * 1000 : deadline - now);
    if (!exited && pidfd.get() < 0) wait_us = std::min<int64_t>(wait_us, kPollTickMs * 1000);
    int wait_ms = static_cast<int>(std::clamp<int64_t>((wait_us + 999) / 1000, 0, 60'000));
    int pr = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (pr < 0 && errno != EINTR) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Status::IoError(std::string("poll failed: ") + strerror(errno));
    }
    if (pr <= 0) continue;
    if (i_out >= 0 && fds[i_out].revents && !Drain(out_r.get(), cout_cap)) out_r.Close();
    if (i_err >= 0 && fds[i_err].revents && !Drain(err_r.get(), cerr_cap)) err_r.Close();
    if (i_in >= 0 && fds[i_in].revents) {
      if (fds[i_in].revents & (POLLERR | POLLHUP)) {
        in_w.Close();  // the child closed its stdin
      } else {
        ssize_t w = ::write(in_w.get(), spec.stdin_data.data() + stdin_off,
                            spec.stdin_data.size() - stdin_off);
        if (w > 0) stdin_off += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_off >= spec.stdin_data.size()) {
          in_w.Close();
        }
      }
    }
    (void)i_pid;  // its readiness is picked up by waitid at the top of the loop
  }

  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  out.wall_us = MonoUs() - t0;
  out.cpu_user_us = int64_t{ru.ru_utime.tv_sec} * 1'000'000 + ru.ru_utime.tv_usec;
  out.cpu_sys_us = int64_t{ru.ru_stime.tv_sec} * 1'000'000 + ru.ru_stime.tv_usec;
  out.max_rss_kb = ru.ru_maxrss;
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

}  // namespace parallelagram::os
