// HTTP client throughput with SigV4 signing on, one thread, against a
// fixed-response loopback server (bench/run_http_bench.sh starts nginx and runs
// wrk against the same server for the ceiling).
//
//   http_client_bench URL [connections=16] [seconds=5] [MODE] [--curl]
// The client is the invoke path's (Http1Client, see src/http/http1_client.h);
// --curl measures CurlHttpClient (libcurl multi) instead.
// MODE (default: signed, i.e. AwsClient + SigV4 on every request) separates the costs:
//   --unsigned   CurlHttpClient directly: no AwsClient, no SigV4 headers
//   --presigned  CurlHttpClient directly with one request's signed headers re-sent every
//                time: the HTTP client's cost of the signed headers' bytes, without signing
//   --anonymous  AwsClient without signing (its own per-request cost)
// Prints one line: requests, seconds, requests/s, CPU microseconds per request.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "aws/aws_client.h"
#include "aws/sigv4.h"
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s URL [connections] [seconds]\n", argv[0]);
    return 2;
  }
  std::string url = argv[1];
  int connections = argc > 2 ? std::atoi(argv[2]) : 16;
  double seconds = argc > 3 ? std::atof(argv[3]) : 5;
  std::string mode;
  bool use_curl = false;
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--curl") {
      use_curl = true;
    } else if (mode.empty() && (a == "--unsigned" || a == "--presigned" || a == "--anonymous")) {
      mode = a;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const bool raw_mode = mode == "--unsigned" || mode == "--presigned";

  IoLoop loop;
  std::unique_ptr<HttpClient> client_owned;
  if (use_curl) {
    client_owned = std::make_unique<CurlHttpClient>(loop);
  } else {
    client_owned = MakeInvokeHttpClient(loop, 0);
  }
  HttpClient& http = *client_owned;
  aws::Credentials creds;
  creds.access_key_id = "AKIDBENCHMARK";
  creds.secret_access_key = "benchmarkSecretKey000000000000000000000000";
  creds.session_token = "benchmark-session-token";
  creds.source = "benchmark";
  aws::AwsClient client(
      loop, http, aws::StaticCredentials(creds),
      aws::ServiceConfig{"lambda", "us-east-1", url, aws::AwsProtocol::kRestJson});

  HttpHeaders raw_headers = {{"X-Amz-Invocation-Type", "RequestResponse"}};
  if (mode == "--presigned") {
    HttpRequest r;
    r.method = "POST";
    r.url = url + "/2015-03-31/functions/bench/invocations";
    r.headers = raw_headers;
    r.body = R"({"task":"bench","args":["a","b"]})";
    aws::SigningParams p;
    p.service = "lambda";
    p.region = "us-east-1";
    p.epoch_seconds = std::time(nullptr);
    if (!aws::SignRequest(r, creds, p).ok()) return 2;
    raw_headers = r.headers;
  }

  long done = 0, failed = 0;
  bool stopping = false;
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto on_done = [&](bool ok) {
    if (ok) {
      ++done;
    } else {
      ++failed;
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
        seconds) {
      stopping = true;
    }
  };
  std::function<void()> issue = [&] {
    if (raw_mode) {
      HttpRequest r;
      r.method = "POST";
      r.url = url + "/2015-03-31/functions/bench/invocations";
      r.headers = raw_headers;
      r.body = R"({"task":"bench","args":["a","b"]})";
      http.Send(std::move(r), [&](Result<HttpResponse> res) {
        on_done(res.ok());
        if (!stopping) issue();
      });
      return;
    }
    aws::AwsRequest r;
    r.operation = "Invoke";
    r.http.method = "POST";
    r.http.url = "/2015-03-31/functions/bench/invocations";
    r.http.headers = {{"X-Amz-Invocation-Type", "RequestResponse"}};
    r.http.body = R"({"task":"bench","args":["a","b"]})";
    r.max_attempts = 1;
    r.anonymous = mode == "--anonymous";
    client.Send(std::move(r), [&](aws::AwsResult<HttpResponse> res) {
      on_done(res.ok());
      if (!stopping) issue();
    });
  };
  for (int i = 0; i < connections; ++i) issue();
  loop.Run();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  std::printf("requests=%ld failed=%ld seconds=%.2f rps=%.0f cpu_us_per_request=%.1f\n", done,
              failed, wall, static_cast<double>(done) / wall,
              cpu * 1e6 / static_cast<double>(done));
  return failed == 0 ? 0 : 1;
}
