// LambdaInvoker: the real Invoker. One synchronous Lambda Invoke (RequestResponse) per task
// attempt, over HTTP on the driver's IoLoop: the same code path for the embedded local
// Lambda and for AWS (only the endpoint and the request signer differ).
//
// Classification of the answer (docs/protocol.md has the result schema):
//   200, no X-Amz-Function-Error   the worker's TaskResult JSON (its own outcome)
//   200 + X-Amz-Function-Error     "Task timed out after" -> kTimedOut; an OutOfMemory error
//                                  type -> kOutOfMemory; otherwise kCrashed (worker died)
//   429                            kThrottled (did not run); Retry-After (or the body's
//                                  retryAfterSeconds) -> TaskResult::retry_after_ms
//   5xx, or no HTTP answer          kTransport (may have run); Retry-After as for 429
//   other 4xx                      kFailed with the AWS error type and message
// Every invoke asks for the log tail (X-Amz-Log-Type: Tail); an attempt that did not succeed
// carries it, decoded, in TaskResult::log_tail (the last 4 KB of the function's log).
// Clock skew (Options::clock_skewed, set by SignWith): an answer that is a clock-skew error
// (403 InvalidSignatureException "Signature expired", RequestTimeTooSkewed, ...) corrects
// the signer's clock from its Date header, and the invoke is signed again and sent once
// more; only that second answer is classified, so the skew never costs a task attempt.
// Contract: as Invoker. Thread-safety: loop thread only. Borrows `http`, which must outlive
// it; callbacks after destruction are dropped.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "aws/signer.h"
#include "driver/invoker.h"
#include "http/http_client.h"

namespace parallelagram::driver {

class LambdaInvoker : public Invoker {
 public:
  struct Options {
    std::string endpoint;  // "http://127.0.0.1:PORT" or the AWS Lambda endpoint
    std::string function_name;
    int64_t function_timeout_s = 900;  // bounds the HTTP timeout when the task has none
    // Signs a request in place (SigV4 for AWS); empty for the unsigned local service.
    std::function<void(HttpRequest&)> sign;
    // Given a 4xx answer (not 429): true when it was a clock-skew error and the signer's
    // clock correction was updated from it; the invoke is then re-signed and sent once more.
    // Empty: never.
    std::function<bool(const HttpResponse&)> clock_skewed;

    // Sets `sign` and `clock_skewed` to use `signer` (shared: its clock correction is the
    // one the session's Lambda client uses too).
    void SignWith(std::shared_ptr<aws::Signer> signer);
  };
  LambdaInvoker(HttpClient& http, Options options);
  ~LambdaInvoker() override;
  void Invoke(TaskEvent event, std::function<void(TaskResult)> done) override;

  // Maps one Invoke answer to the attempt's TaskResult (exposed for tests and AsyncInvoker).
  static TaskResult Classify(const std::string& task_id, const Result<HttpResponse>& response);
  // The event's JSON, as an Invoke's body (the one place an event is serialised for sending).
  static std::string EventBody(const TaskEvent& event);
  // The signed Invoke request (aws::MakeInvokeHttpRequest) carrying `body` (EventBody),
  // X-Amz-Invocation-Type `invocation_type` ("RequestResponse" or "Event"); its HTTP timeout
  // is the task's `task_timeout_ms` (the function's timeout when 0) plus a minute.
  static HttpRequest MakeRequest(const Options& options, std::string body, int64_t task_timeout_ms,
                                 const char* invocation_type);
  // Sends the Invoke of `event` (serialised once; MakeRequest; `timeout_ms` > 0 replaces its
  // timeout) and
  // gives `done` the answer, after one re-signed retry when options.clock_skewed says the
  // first answer was a clock-skew error. `options` and `http` are borrowed: `done` (and the
  // retry) are dropped once `alive` has expired, and they must live until then.
  static void Send(HttpClient& http, const Options& options, TaskEvent event,
                   const char* invocation_type, int64_t timeout_ms, std::weak_ptr<bool> alive,
                   std::function<void(Result<HttpResponse>)> done);

 private:
  HttpClient& http_;
  Options opt_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parallelagram::driver
