// parallelagram local-lambda: serves the AWS Lambda API locally until SIGINT/SIGTERM.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/parse_args.h"
#include "local/fault_injection.h"
#include "local/local_lambda.h"

namespace parallelagram::cli {

int LocalLambdaMain(int argc, char** argv) {
  CLI::App app{
      "Serve the AWS Lambda API locally: functions run as real processes speaking the "
      "Lambda Runtime API.",
      argv[0]};
  local::LocalLambdaOptions opts;
  bool allow_remote = false;
  std::string work_dir;
  app.add_option("--host", opts.host, "address to listen on (loopback unless --allow-remote)")
      ->capture_default_str();
  app.add_option("--port", opts.port, "port to listen on; 0 picks a free one and prints it")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--concurrency", opts.concurrency, "account concurrency limit")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--access-key-id", opts.access_key_id,
                 "verify every request's SigV4 signature with this key (with --secret-access-key)");
  app.add_option("--secret-access-key", opts.secret_access_key, "the secret for --access-key-id");
  app.add_option("--region", opts.region, "the region served")->capture_default_str();
  app.add_option("--work-dir", work_dir,
                 "where function code and environments live (default: a temporary directory, "
                 "removed on exit)");
  app.add_flag("--allow-remote", allow_remote, "allow a --host that is not a loopback address");
  double idle_timeout_s = static_cast<double>(opts.api_idle_timeout_ms) / 1000.0;
  app.add_option("--idle-timeout", idle_timeout_s,
                 "close a client connection idle this many seconds (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  double state_delay_s = 1.0;
  app.add_option("--state-delay", state_delay_s,
                 "seconds a created function stays Pending (and an update InProgress) before "
                 "it is Active (Successful), as on Lambda; 0: at once")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.footer(
      "Not a sandbox: functions run as real processes under local-lambda's own user, with its "
      "file system and network. Each environment gets its own Runtime API port, told only "
      "to it, and a second GET /next there is refused; but a function can read other "
      "processes of the same user (/proc/PID/environ), signal them and read their files. An "
      "environment's processes are tracked by a cgroup where local-lambda may make one (as "
      "root, Linux 5.14+), otherwise by their session only: then a process that calls setsid "
      "or double-forks outlives its environment. Run only code you trust, or run "
      "local-lambda inside a container or VM. See docs/local-lambda.md.");
  std::string inject, inject_log;
  uint64_t inject_seed = 0;
  app.add_option("--inject", inject,
                 "inject faults: KIND=P[,KIND=P...], KIND one of throttle, service-error, crash, "
                 "hang, slow-start, duplicate; P a probability from 0 to 1 (see "
                 "docs/local-lambda.md)");
  app.add_option("--inject-seed", inject_seed,
                 "seed for --inject, for reproducible runs (default: random)");
  app.add_option("--inject-log", inject_log,
                 "append one JSON line per injected fault to this file");
  if (auto exit_status = ParseArgs(app, argc, argv)) return *exit_status;
  if (!inject.empty() || inject_seed != 0 || !inject_log.empty()) {
    if (inject.empty()) {
      std::fprintf(stderr, "%s: --inject-seed and --inject-log need --inject KIND=P\n", argv[0]);
      return kExitUsage;
    }
    auto spec = local::FaultSpec::Parse(inject);
    if (!spec.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], spec.status().message().c_str());
      return kExitUsage;
    }
    if (inject_seed != 0) spec->seed = inject_seed;
    if (!inject_log.empty()) spec->log_path = inject_log;
    auto policy = local::RandomFaultPolicy::Create(*spec);
    if (!policy.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[0], policy.status().message().c_str());
      return kExitUsage;
    }
    opts.faults = std::move(policy).value();
  }
  opts.work_dir = work_dir;
  opts.api_idle_timeout_ms = static_cast<int64_t>(idle_timeout_s * 1000.0);
  opts.state_delay_ms = static_cast<int64_t>(state_delay_s * 1000.0);
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(opts.host, ec);
  if (ec) {
    std::fprintf(stderr, "%s: --host '%s' is not an IP address; use e.g. 127.0.0.1\n", argv[0],
                 opts.host.c_str());
    return kExitUsage;
  }
  if (!addr.is_loopback() && !allow_remote) {
    std::fprintf(stderr,
                 "%s: --host %s is not a loopback address; anyone who can reach it could run "
                 "code here: add --allow-remote if you mean it\n",
                 argv[0], opts.host.c_str());
    return kExitUsage;
  }
  if (opts.access_key_id.empty() != opts.secret_access_key.empty()) {
    std::fprintf(stderr, "%s: give both --access-key-id and --secret-access-key, or neither\n",
                 argv[0]);
    return kExitUsage;
  }

  // Block the stop signals before the service thread exists so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = local::LocalLambda::Start(std::move(opts));
  if (!server.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], server.status().message().c_str());
    return 1;
  }
  std::printf("local-lambda listening on %s\n", (*server)->endpoint().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace parallelagram::cli
