#include "driver/lambda_invoker.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace parallelagram::driver {
namespace {

// Retry-After as seconds (AWS sends a number; an HTTP date is not used by Lambda), or the
// body's retryAfterSeconds. 0 when absent or not a number.
int64_t RetryAfterMs(const HttpResponse& h) {
  std::string v = h.Header("retry-after");
  if (v.empty()) {
    try {
      auto j = nlohmann::json::parse(h.body);
      if (j.is_object() && j.contains("retryAfterSeconds")) {
        const auto& f = j["retryAfterSeconds"];
        v = f.is_string() ? f.get<std::string>() : f.is_number() ? f.dump() : "";
      }
    } catch (const std::exception&) {
    }
  }
  if (v.empty()) return 0;
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !std::isfinite(s) || s <= 0) return 0;
  return static_cast<int64_t>(std::min(s, 3600.0) * 1000);
}

// The invocation's log tail (X-Amz-Log-Result, base64), as evidence for a failed attempt.
std::string LogTail(const HttpResponse& h) {
  std::string b64 = h.Header("x-amz-log-result");
  if (b64.empty()) return "";
  auto raw = Base64Decode(b64);
  return raw ? *raw : "";
}

std::string UrlEncodeName(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::pair<std::string, std::string> ErrorBody(const std::string& body) {
  try {
    auto j = nlohmann::json::parse(body);
    std::string type = j.value("errorType", j.value("__type", j.value("Type", std::string())));
    std::string msg = j.value("errorMessage", j.value("message", j.value("Message", std::string())));
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
    std::string fe = h.Header("x-amz-function-error");
    if (fe.empty()) {
      try {
        auto parsed = TaskResultFromJson(nlohmann::json::parse(h.body));
        if (parsed.ok()) {
          TaskResult out = std::move(parsed).value();
          if (out.task_id.empty()) out.task_id = task_id;
          if (out.outcome != Outcome::kSucceeded && out.log_tail.empty()) out.log_tail = LogTail(h);
          return out;
        }
        r.error = "the worker's result is not valid: " + parsed.status().message();
      } catch (const std::exception&) {
        r.error = "the worker's result is not JSON";
      }
      r.outcome = Outcome::kCrashed;
      r.log_tail = LogTail(h);
      return r;
    }
    auto [type, msg] = ErrorBody(h.body);
    r.error = type.empty() ? msg : type + ": " + msg;
    r.log_tail = LogTail(h);
    if (msg.find("Task timed out after") != std::string::npos) {
      r.outcome = Outcome::kTimedOut;
    } else if (type.find("OutOfMemory") != std::string::npos) {
      r.outcome = Outcome::kOutOfMemory;
    } else {
      r.outcome = Outcome::kCrashed;
    }
    return r;
  }
  auto [type, msg] = ErrorBody(h.body);
  std::string etype = h.Header("x-amzn-errortype");
  if (etype.empty()) etype = type;
  if (auto colon = etype.find(':'); colon != std::string::npos) etype.resize(colon);
  r.error = "Lambda answered " + std::to_string(h.status) + " " + etype + ": " + msg;
  r.retry_after_ms = RetryAfterMs(h);
  if (h.status == 429) {
    r.outcome = Outcome::kThrottled;
  } else if (h.status >= 500) {
    r.outcome = Outcome::kTransport;
  } else {
    r.outcome = Outcome::kFailed;
  }
  return r;
}

HttpRequest LambdaInvoker::MakeRequest(const Options& opt, const TaskEvent& event,
                                       const char* invocation_type) {
  HttpRequest req;
  req.method = "POST";
  req.url = opt.endpoint + "/2015-03-31/functions/" + UrlEncodeName(opt.function_name) +
            "/invocations";
  req.headers = {{"Content-Type", "application/json"}};
  if (std::string_view(invocation_type) == "RequestResponse") {
    // RequestResponse is Lambda's default: no X-Amz-Invocation-Type (60 bytes fewer to send
    // and sign per invoke). The log tail (last 4 KB) is evidence for a failed attempt;
    // Lambda gives it to sync calls.
    req.headers.emplace_back("X-Amz-Log-Type", "Tail");
  } else {
    req.headers.emplace_back("X-Amz-Invocation-Type", invocation_type);
  }
  req.body = TaskEventToJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  int64_t task_ms = event.timeout_ms > 0 ? event.timeout_ms : opt.function_timeout_s * 1000;
  req.timeout_ms = task_ms + 60000;  // the function's own timeout answers before this
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
                         const char* invocation_type, int64_t timeout_ms,
                         std::weak_ptr<bool> alive,
                         std::function<void(Result<HttpResponse>)> done) {
  HttpRequest req = MakeRequest(opt, event, invocation_type);
  if (timeout_ms > 0) req.timeout_ms = timeout_ms;
  if (!opt.clock_skewed) {
    http.Send(std::move(req), [alive, done = std::move(done)](Result<HttpResponse> resp) {
      if (!alive.expired()) done(std::move(resp));
    });
    return;
  }
  // The event is kept (moved, not copied) so that a retry can rebuild and re-sign the request.
  http.Send(std::move(req), [&http, &opt, event = std::move(event), invocation_type, timeout_ms,
                             alive, done = std::move(done)](Result<HttpResponse> resp) mutable {
    if (alive.expired()) return;
    const bool skewed = resp.ok() && resp->status >= 400 && resp->status < 500 &&
                        resp->status != 429 && opt.clock_skewed(*resp);
    if (!skewed) {
      done(std::move(resp));
      return;
    }
    HttpRequest again = MakeRequest(opt, event, invocation_type);  // signed at the new skew
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
