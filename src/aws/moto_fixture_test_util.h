// MotoFixture: a real moto_server for C++ tests, with SigV4 enforced.
//
// Starts `moto_server -H 127.0.0.1 -p <free port>` with
// INITIAL_NO_AUTH_ACTION_COUNT=3, and spends those free calls (via
// tests/moto_fixture.py bootstrap, boto3) on an IAM user, an allow-all inline
// policy and an access key. Every later call must be signed with that key.
//
//   static MotoFixture* moto = MotoFixture::Shared();  // one per test process
//   if (!moto->ok()) GTEST_SKIP() or FAIL() << moto->error();
//   moto->endpoint(), moto->credentials()
//
// Shared() starts moto once per process (ctest runs each test in its own
// process, so keep moto tests few and meaty) and stops it at exit. The
// destructor kills only the process it started, by pid. Test-only, header-only.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "aws/credentials.h"

extern char** environ;

namespace parallelagram::testing {

class MotoFixture {
 public:
  MotoFixture() { Start(); }
  ~MotoFixture() { Stop(); }
  MotoFixture(const MotoFixture&) = delete;
  MotoFixture& operator=(const MotoFixture&) = delete;

  static MotoFixture* Shared() {
    static std::unique_ptr<MotoFixture> shared(new MotoFixture());
    return shared.get();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  aws::Credentials credentials() const {
    aws::Credentials c;
    c.access_key_id = access_key_id_;
    c.secret_access_key = secret_access_key_;
    c.source = "moto test user";
    return c;
  }

 private:
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return 0;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }

  static bool CanConnect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

  void Start() {
    port_ = FreePort();
    endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
    std::string port = std::to_string(port_);
    // Child environment: ours plus the free-call count.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    env_store.emplace_back("INITIAL_NO_AUTH_ACTION_COUNT=3");
    std::vector<char*> envp;
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string prog = "moto_server", host_flag = "-H", host = "127.0.0.1", port_flag = "-p";
    char* argv[] = {prog.data(),      host_flag.data(), host.data(),
                    port_flag.data(), port.data(),      nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid_, "moto_server", &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      error_ = "cannot start moto_server (is it installed? scripts/setup.sh)";
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!CanConnect(port_)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "moto_server exited at start";
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error_ = "moto_server did not listen within 60 s";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string cmd =
        std::string("python3 ") + PG_SOURCE_DIR + "/tests/moto_fixture.py bootstrap " + endpoint_;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    int st = p ? pclose(p) : -1;
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (st != 0 || !j.is_object()) {
      error_ = "moto bootstrap failed (tests/moto_fixture.py bootstrap)";
      return;
    }
    access_key_id_ = j.value("access_key_id", "");
    secret_access_key_ = j.value("secret_access_key", "");
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_;
  std::string access_key_id_;
  std::string secret_access_key_;
  std::string error_;
};

}  // namespace parallelagram::testing
