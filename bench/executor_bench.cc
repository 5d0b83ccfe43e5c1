// The C++ API's dispatch cost (issue 14 item 7): Executor::Map of N no-op calls, timed as a
// whole (wall, and this process's CPU from getrusage: encoding, the job engine, the invokes,
// decoding, futures), on the local backend or on a Lambda endpoint (AWS_ENDPOINT_URL_LAMBDA:
// bench/run_executor_bench.sh points it at the nginx stand-in of the dispatch benchmark).
// This program is its own worker (ServeIfWorker), as a user's is.
//   executor_bench local|aws N IN_FLIGHT [FUNCTION BUCKET]
// Prints one line: calls=N failed=F seconds=S calls_per_s=R cpu_us_per_call=C
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "parallelagram/parallelagram.h"

namespace {

void Noop() {}

double CpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

PARALLELAGRAM_FUNCTION(Noop);

int main(int argc, char** argv) {
  parallelagram::ServeIfWorker(argc, argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: executor_bench local|aws N IN_FLIGHT [FUNCTION BUCKET]\n");
    return 2;
  }
  parallelagram::ExecutorOptions o;
  o.backend = argv[1];
  const int n = std::stoi(argv[2]);
  o.max_in_flight = std::stoi(argv[3]);
  if (argc > 5) {
    o.function_name = argv[4];
    o.bucket = argv[5];
  }
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = CpuSeconds();
  int failed = 0;
  {
    parallelagram::Executor ex(o);
    std::vector<parallelagram::Future<void>> fs;
    fs.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) fs.push_back(ex.Call(Noop));
    for (auto& f : fs) {
      if (!f.result().ok()) {
        if (failed++ == 0) std::fprintf(stderr, "%s\n", f.result().error().what());
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - c0;
  std::printf("calls=%d failed=%d seconds=%.2f calls_per_s=%.0f cpu_us_per_call=%.1f\n", n, failed,
              secs, n / secs, cpu * 1e6 / n);
  return failed ? 1 : 0;
}
