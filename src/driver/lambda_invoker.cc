#include "driver/lambda_invoker.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "aws/aws_error.h"
#include "aws/lambda_client.h"
#include "aws/lambda_report.h"
#include "common/base64.h"

namespace parallelagram::driver {
namespace {

// The invocation's log tail (X-Amz-Log-Result, base64), as evidence for a failed attempt.
std::string LogTail(const HttpResponse& h) {
  std::string b64 = h.Header("x-amz-log-result");
  if (b64.empty()) return "";
  auto raw = Base64Decode(b64);
  return raw ? *raw : "";
}

// What Lambda billed the invocation, from the REPORT line of its log tail: replaces the
// worker's own estimate. No REPORT (a tail cut short, an endpoint that sends none): the
// estimate stays.
void ApplyReport(const std::string& tail, TaskResult& r) {
  auto report = aws::ParseLambdaReport(tail);
  if (!report) return;
  r.billed_ms = report->billed_ms;
  r.memory_mb = report->memory_size_mb;
  r.init_ms = static_cast<int64_t>(report->init_ms + 0.999);
  r.billing_estimate = false;
}

// A function error's payload, {"errorType": .., "errorMessage": ..} (the Runtime API's error
// body, not an AWS API error).
std::pair<std::string, std::string> FunctionErrorBody(const std::string& body) {
  try {
    auto j = nlohmann::json::parse(body);
    std::string type = j.value("errorType", j.value("__type", j.value("Type", std::string())));
    std::string msg =
        j.value("errorMessage", j.value("message", j.value("Message", std::string())));
    return {type, msg};
  } catch (const std::exception&) {
    return {"", body.substr(0, 200)};
  }
}

}  // namespace

LambdaInvoker::LambdaInvoker(HttpClient& http, Options options)
    : http_(http), opt_(std::move(options)) {}

LambdaInvoker::~LambdaInvoker() { *alive_ = false; }

TaskResult LambdaInvoker::Classify(const std::string& task_id,
                                   const Result<HttpResponse>& response) {
  TaskResult r;
  r.task_id = task_id;
  if (!response.ok()) {
    r.outcome = Outcome::kTransport;
    r.error = "invoke failed: " + response.status().message();
    return r;
  }
  const HttpResponse& h = *response;
  if (h.status == 200) {
    const std::string tail = LogTail(h);
    std::string fe = h.Header("x-amz-function-error");
    if (fe.empty()) {
      try {
        auto parsed = TaskResultFromJson(nlohmann::json::parse(h.body));
        if (parsed.ok()) {
          TaskResult out = std::move(parsed).value();
          if (out.task_id.empty()) out.task_id = task_id;
          if (out.outcome != Outcome::kSucceeded && out.log_tail.empty()) out.log_tail = tail;
          ApplyReport(tail, out);
          return out;
        }
        r.error = "the worker's result is not valid: " + parsed.status().message();
      } catch (const std::exception&) {
        r.error = "the worker's result is not JSON";
      }
      r.outcome = Outcome::kCrashed;
      r.log_tail = tail;
      ApplyReport(tail, r);
      return r;
    }
    auto [type, msg] = FunctionErrorBody(h.body);
    r.error = type.empty() ? msg : type + ": " + msg;
    r.log_tail = tail;
    ApplyReport(tail, r);
    if (msg.find("Task timed out after") != std::string::npos) {
      r.outcome = Outcome::kTimedOut;
    } else if (type.find("OutOfMemory") != std::string::npos) {
      r.outcome = Outcome::kOutOfMemory;
    } else {
      r.outcome = Outcome::kCrashed;
    }
    return r;
  }
  // An AWS API error (429 throttle, 5xx, 4xx): parsed as every Lambda API error is.
  const aws::AwsError e = aws::ParseAwsError(aws::AwsProtocol::kRestJson, h, "lambda Invoke");
  r.error = "Lambda answered " + std::to_string(h.status) + " " + e.code + ": " +
            (e.message.empty() ? h.body.substr(0, 200) : e.message);
  // Retry-After / retryAfterSeconds, capped at an hour; 0 when absent or not a number.
  if (std::isfinite(e.retry_after_seconds) && e.retry_after_seconds > 0) {
    r.retry_after_ms = static_cast<int64_t>(std::min(e.retry_after_seconds, 3600.0) * 1000);
  }
  if (h.status == 429) {
    r.outcome = Outcome::kThrottled;
  } else if (h.status >= 500) {
    r.outcome = Outcome::kTransport;
  } else {
    r.outcome = Outcome::kFailed;
  }
  return r;
}

std::string LambdaInvoker::EventBody(const TaskEvent& event) {
  return TaskEventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpRequest LambdaInvoker::MakeRequest(const Options& opt, std::string body,
                                       int64_t task_timeout_ms, const char* invocation_type) {
  aws::InvokeRequest invoke;
  invoke.function_name = opt.function_name;
  invoke.type = std::string_view(invocation_type) == "Event"
                    ? aws::InvocationType::kEvent
                    : aws::InvocationType::kRequestResponse;
  // The log tail (last 4 KB) is evidence for a failed attempt; Lambda gives it to sync calls.
  invoke.tail_log = invoke.type == aws::InvocationType::kRequestResponse;
  invoke.payload = std::move(body);
  int64_t task_ms = task_timeout_ms > 0 ? task_timeout_ms : opt.function_timeout_s * 1000;
  invoke.timeout_ms = task_ms + 60000;  // the function's own timeout answers before this
  HttpRequest req = aws::MakeInvokeHttpRequest(opt.endpoint, std::move(invoke));
  if (opt.sign) opt.sign(req);
  return req;
}

void LambdaInvoker::Options::SignWith(std::shared_ptr<aws::Signer> signer) {
  sign = [signer](HttpRequest& req) {
    // On a credentials error the request goes unsigned: AWS answers 403, a failed attempt.
    (void)signer->Sign(req);
  };
  clock_skewed = [signer](const HttpResponse& resp) {
    return signer->LearnClockSkew(resp, aws::AwsProtocol::kRestJson);
  };
}

void LambdaInvoker::Send(HttpClient& http, const Options& opt, TaskEvent event,
                         const char* invocation_type, int64_t timeout_ms, std::weak_ptr<bool> alive,
                         std::function<void(Result<HttpResponse>)> done) {
  const int64_t task_timeout_ms = event.timeout_ms;
  if (!opt.clock_skewed) {
    HttpRequest req = MakeRequest(opt, EventBody(event), task_timeout_ms, invocation_type);
    if (timeout_ms > 0) req.timeout_ms = timeout_ms;
    http.Send(std::move(req), [alive, done = std::move(done)](Result<HttpResponse> resp) {
      if (!alive.expired()) done(std::move(resp));
    });
    return;
  }
  // The event is serialised once; its bytes are kept so that a retry can rebuild and re-sign
  // the request.
  std::string body = EventBody(event);
  HttpRequest req = MakeRequest(opt, body, task_timeout_ms, invocation_type);
  if (timeout_ms > 0) req.timeout_ms = timeout_ms;
  http.Send(std::move(req), [&http, &opt, body = std::move(body), task_timeout_ms, invocation_type,
                             timeout_ms, alive,
                             done = std::move(done)](Result<HttpResponse> resp) mutable {
    if (alive.expired()) return;
    const bool skewed = resp.ok() && resp->status >= 400 && resp->status < 500 &&
                        resp->status != 429 && opt.clock_skewed(*resp);
    if (!skewed) {
      done(std::move(resp));
      return;
    }
    // Signed at the new skew.
    HttpRequest again = MakeRequest(opt, std::move(body), task_timeout_ms, invocation_type);
    if (timeout_ms > 0) again.timeout_ms = timeout_ms;
    http.Send(std::move(again), [alive, done = std::move(done)](Result<HttpResponse> r) {
      if (!alive.expired()) done(std::move(r));
    });
  });
}

void LambdaInvoker::Invoke(TaskEvent event, std::function<void(TaskResult)> done) {
  std::string id = event.task_id;
  Send(http_, opt_, std::move(event), "RequestResponse", 0, alive_,
       [id = std::move(id), done = std::move(done)](Result<HttpResponse> resp) {
         done(Classify(id, resp));
       });
}

}  // namespace parallelagram::driver
