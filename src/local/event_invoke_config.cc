// Lambda's per-function asynchronous invocation settings (Put/Get/DeleteFunctionEventInvokeConfig,
// /2019-09-25/functions/NAME/event-invoke-config): MaximumRetryAttempts (0-2) bounds the
// retries after a function error, MaximumEventAgeInSeconds (60-21600) how long an event may
// wait in the queue. Responses and errors as AWS shapes them.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "local/service.h"

namespace parallelagram::local {

using json = nlohmann::json;

int Service::EventRetries(const Function& f) const {
  int n = static_cast<int>(options_.event_retry_delays_ms.size());
  if (f.event_invoke_config && f.event_invoke_config->maximum_retry_attempts) {
    n = std::min(n, *f.event_invoke_config->maximum_retry_attempts);
  }
  return n;
}

int64_t Service::MaxEventAgeMs(const Function& f) const {
  if (f.event_invoke_config && f.event_invoke_config->maximum_event_age_in_seconds) {
    return std::min<int64_t>(options_.max_event_age_ms,
                             *f.event_invoke_config->maximum_event_age_in_seconds * 1000LL);
  }
  return options_.max_event_age_ms;
}

namespace {

json EventInvokeConfigJson(const Function& f) {
  const auto& c = *f.event_invoke_config;
  json j = {{"LastModified", c.last_modified},
            {"FunctionArn", f.arn + ":$LATEST"},
            {"DestinationConfig", {{"OnSuccess", json::object()}, {"OnFailure", json::object()}}}};
  if (c.maximum_retry_attempts) j["MaximumRetryAttempts"] = *c.maximum_retry_attempts;
  if (c.maximum_event_age_in_seconds) {
    j["MaximumEventAgeInSeconds"] = *c.maximum_event_age_in_seconds;
  }
  return j;
}

}  // namespace

void Service::PutFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                           const std::string& ref) {
  auto f = FindOr404(ex, ref, rid, true);
  if (!f) return;
  json body;
  if (!ParseBody(ex, rid, &body)) return;
  Function::EventInvokeConfig c;
  // AWS's validation messages for the two bounded integers.
  struct Field {
    const char* key;
    const char* member;
    int lo, hi;
    std::optional<int>* out;
  };
  for (Field fd : {Field{"MaximumRetryAttempts", "maximumRetryAttempts", 0, 2,
                         &c.maximum_retry_attempts},
                   Field{"MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21600,
                         &c.maximum_event_age_in_seconds}}) {
    if (!body.contains(fd.key) || body[fd.key].is_null()) continue;
    if (!body[fd.key].is_number_integer()) {
      ReplyError(ex, 400, "InvalidParameterValueException",
                 std::string(fd.key) + " must be an integer.", rid);
      return;
    }
    int64_t v = body[fd.key].get<int64_t>();
    if (v < fd.lo || v > fd.hi) {
      ReplyError(ex, 400, "ValidationException",
                 fmt::format("1 validation error detected: Value '{}' at '{}' failed to satisfy "
                             "constraint: Member must have value {} {}",
                             v, fd.member,
                             v < fd.lo ? "greater than or equal to" : "less than or equal to",
                             v < fd.lo ? fd.lo : fd.hi),
                 rid);
      return;
    }
    *fd.out = static_cast<int>(v);
  }
  c.last_modified =
      static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count()) /
      1000.0;
  f->event_invoke_config = c;
  ReplyJson(ex, 200, EventInvokeConfigJson(*f), rid);
  PumpEvents();
}

// Get and Delete: the function's settings, or null after replying 404 (no function, or no
// settings).
std::shared_ptr<Function> Service::FindEventInvokeConfigOr404(const ExPtr& ex,
                                                              const std::string& ref,
                                                              const std::string& rid) {
  auto f = FindOr404(ex, ref, rid, true);
  if (f && !f->event_invoke_config) {
    ReplyError(ex, 404, "ResourceNotFoundException",
               "The function " + f->arn + " doesn't have an EventInvokeConfig", rid);
    return nullptr;
  }
  return f;
}

void Service::GetFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                           const std::string& ref) {
  if (auto f = FindEventInvokeConfigOr404(ex, ref, rid)) {
    ReplyJson(ex, 200, EventInvokeConfigJson(*f), rid);
  }
}

void Service::DeleteFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                              const std::string& ref) {
  if (auto f = FindEventInvokeConfigOr404(ex, ref, rid)) {
    f->event_invoke_config.reset();
    Reply(ex, MakeResponse(ex->request(), 204, "", ""), rid);
  }
}

}  // namespace parallelagram::local
