// Worker cold start: time from posix_spawn of a Lambda runtime to its first
// GET /2018-06-01/runtime/invocation/next arriving at a Runtime API socket.
//
//   build/worker_cold_start_bench [--runs N] [CMD ARGS...]
//
// CMD defaults to build/bootstrap (next to this binary). Give another runtime (e.g.
// `npx aws-lambda-ric index.handler` run from a handler directory) to compare against it.
// Prints min / median / p90 / max in milliseconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

std::string SelfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 50;
  std::vector<std::string> cmd;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      cmd.emplace_back(argv[i]);
    }
  }
  if (cmd.empty()) cmd.push_back(SelfDir() + "/bootstrap");

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 16) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) {
    std::perror("listen");
    return 1;
  }
  std::string api = "AWS_LAMBDA_RUNTIME_API=127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "AWS_LAMBDA_RUNTIME_API=", 23) != 0) envs.emplace_back(*e);
  }
  envs.push_back(api);
  std::vector<char*> envp, args;
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : cmd) args.push_back(s.data());
  args.push_back(nullptr);

  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    double t0 = NowMs();
    pid_t pid;
    if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), envp.data()) != 0) {
      std::perror("spawn");
      return 1;
    }
    pollfd p{lfd, POLLIN, 0};
    if (poll(&p, 1, 30000) != 1) {
      std::fprintf(stderr, "no connection within 30 s\n");
      kill(pid, SIGKILL);
      return 1;
    }
    int c = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    double t1 = NowMs();
    if (req.rfind("GET /2018-06-01/runtime/invocation/next ", 0) != 0) {
      std::fprintf(stderr, "unexpected first request: %.80s\n", req.c_str());
      return 1;
    }
    ms.push_back(t1 - t0);
    close(c);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<size_t>(q * (ms.size() - 1))]; };
  std::printf(
      "exec to first /next over %d runs of %s: min %.2f ms, median %.2f ms, p90 %.2f ms, max %.2f "
      "ms\n",
      runs, cmd[0].c_str(), ms.front(), at(0.5), at(0.9), ms.back());
  return 0;
}
