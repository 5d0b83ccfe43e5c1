// The driver's dispatch path without the CLI: driver::Scheduler + driver::LambdaInvoker +
// the invoke-path HttpClient (Http1Client) on one IoLoop, every Invoke signed with SigV4 (fake
// static credentials), over N no-op tasks against a fast Lambda-compatible endpoint
// (bench/run_dispatch_bench.sh starts nginx answering every Invoke with a fixed, valid task
// result).
//
//   dispatch_bench URL [tasks=20000] [jobs=64]
// Prints one line: tasks, failed, seconds, tasks/s, CPU microseconds per task (this
// process only: getrusage, user + system). Exit 1 if any task did not succeed.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "aws/credentials.h"
#include "aws/signer.h"
#include "common/clock.h"
#include "driver/io_loop_driver.h"
#include "driver/lambda_invoker.h"
#include "driver/scheduler.h"
#include "http/http1_client.h"
#include "http/http_client.h"
#include "http/io_loop.h"

using namespace parallelagram;

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class Counter : public driver::Scheduler::Listener {
 public:
  Counter(IoLoop& loop, long tasks) : loop_(loop), tasks_(tasks) {}
  Pull PullTask(int64_t* seq) override {
    if (next_ > tasks_) return Pull::kEnd;
    *seq = next_++;
    return Pull::kTask;
  }
  void OnFinish(const driver::TaskRecord& rec) override {
    if (rec.result.outcome == Outcome::kSucceeded) return;
    if (++failed_ == 1) {
      std::fprintf(stderr, "task %lld: %s %s\n", static_cast<long long>(rec.seq),
                   OutcomeName(rec.result.outcome), rec.result.error.c_str());
    }
  }
  void OnDone() override { loop_.Stop(); }
  long failed() const { return failed_; }

 private:
  IoLoop& loop_;
  long tasks_;
  long next_ = 1;
  long failed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [tasks] [jobs]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const long tasks = argc > 2 ? std::atol(argv[2]) : 20000;
  const int jobs = argc > 3 ? std::atoi(argv[3]) : 64;
  RaiseFileDescriptorLimit();

  IoLoop loop;
  // The backends' invoke-path client (Http1Client), configured as they configure it.
  std::unique_ptr<HttpClient> http = MakeInvokeHttpClient(loop, jobs + 4);

  aws::Credentials creds;
  creds.access_key_id = "AKIDBENCHMARK";
  creds.secret_access_key = "benchmarkSecretKey000000000000000000000000";
  creds.session_token = "benchmark-session-token";
  creds.source = "benchmark";
  driver::LambdaInvoker::Options io;
  io.endpoint = url;
  io.function_name = "bench";
  // Signed as the AWS backend signs invokes: one shared aws::Signer.
  auto signer = std::make_shared<aws::Signer>(aws::StaticCredentials(creds),
                                              aws::Signer::Config{"lambda", "us-east-1"});
  io.sign = [signer](HttpRequest& r) {
    if (Status s = signer->Sign(r); !s.ok()) {
      std::fprintf(stderr, "signing failed: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  };
  driver::LambdaInvoker invoker(*http, io);
  driver::IoLoopDriver timers(loop);
  Counter counter(loop, tasks);

  driver::Scheduler::Options so;
  so.jobs = jobs;
  so.max_transport_retries = 0;  // a failure must show, not be hidden by a retry
  driver::Scheduler scheduler(
      so,
      [](int64_t seq, int /*slot*/, int64_t /*invocation*/) -> Result<TaskEvent> {
        TaskEvent e;
        e.task_id = "bench-" + std::to_string(seq);
        e.argv = {"true"};
        return e;
      },
      invoker, timers, SystemClock::Get(), counter);

  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  scheduler.Start();
  loop.Run();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  const long finished = static_cast<long>(scheduler.finished());
  std::printf("tasks=%ld failed=%ld seconds=%.2f tasks_per_s=%.0f cpu_us_per_task=%.1f\n", finished,
              counter.failed(), wall, static_cast<double>(finished) / wall,
              cpu * 1e6 / static_cast<double>(finished));
  return counter.failed() == 0 && finished == tasks ? 0 : 1;
}
