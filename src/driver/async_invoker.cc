#include "driver/async_invoker.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace parallelagram::driver {

AsyncInvoker::AsyncInvoker(HttpClient& http, Timers& timers, const Clock& clock, ResultInbox& inbox,
                           Options options)
    : http_(http), timers_(timers), clock_(clock), inbox_(inbox), opt_(std::move(options)) {}

AsyncInvoker::~AsyncInvoker() { *alive_ = false; }

void AsyncInvoker::Invoke(TaskEvent event, std::function<void(TaskResult)> done) {
  std::string seq = event.task_id.substr(event.task_id.rfind('/') + 1);
  std::string name = seq + "." + std::to_string(opt_.first_number + counter_++) + ".json";
  if (opt_.on_named) opt_.on_named(event.task_id, name);
  event.result_uri = inbox_.Uri(name);
  event.result_spill_only = false;
  int64_t task_ms = event.timeout_ms > 0 ? event.timeout_ms : opt_.invoke.function_timeout_s * 1000;
  std::string id = event.task_id;
  // 60 s: an Event invoke only queues the event. A clock-skew answer is retried once,
  // re-signed, inside Send (lambda_invoker.h).
  LambdaInvoker::Send(http_, opt_.invoke, std::move(event), "Event", 60000, alive_,
                      [this, name, task_ms, id = std::move(id),
                       done = std::move(done)](Result<HttpResponse> resp) mutable {
                        if (!resp.ok() || resp->status != 202) {
                          if (resp.ok() && resp->status == 200) {
                            // Not an Event answer: treat as the service misbehaving (it may have
                            // run).
                            TaskResult r;
                            r.task_id = id;
                            r.outcome = Outcome::kTransport;
                            r.error = "Lambda answered 200 to an Event invocation (expected 202)";
                            done(std::move(r));
                            return;
                          }
                          done(LambdaInvoker::Classify(id, resp));
                          return;
                        }
                        Pending p;
                        p.task_id = id;
                        p.deadline_us = clock_.NowMonoUs() + (task_ms + opt_.lost_after_ms) * 1000;
                        p.done = std::move(done);
                        pending_.emplace(name, std::move(p));
                        SchedulePoll();
                      });
}

void AsyncInvoker::SchedulePoll() {
  if (poll_scheduled_ || polling_ || pending_.empty()) return;
  poll_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  timers_.After(opt_.poll_interval_ms, [this, alive] {
    if (alive.expired()) return;
    poll_scheduled_ = false;
    Poll();
  });
}

void AsyncInvoker::Poll() {
  if (pending_.empty()) return;
  polling_ = true;
  ++polls_;
  std::weak_ptr<bool> alive = alive_;
  inbox_.Poll([this](const std::string& name) { return pending_.count(name) > 0; },
              [this, alive](Result<std::vector<ResultInbox::Item>> items) {
                if (alive.expired()) return;
                polling_ = false;
                OnPolled(std::move(items));
              });
}

void AsyncInvoker::OnPolled(Result<std::vector<ResultInbox::Item>> items) {
  std::vector<std::string> remove;
  if (!items.ok()) {
    if (last_poll_error_.empty() && opt_.on_poll_error) {
      opt_.on_poll_error(items.status().message());
    }
    last_poll_error_ = items.status().message();
  } else {
    last_poll_error_.clear();
    for (auto& item : *items) {
      auto it = pending_.find(item.name);
      if (it == pending_.end()) {
        remove.push_back(item.name);  // stale: an abandoned or duplicated attempt
        continue;
      }
      if (!item.read) continue;  // could not be read now; the next poll retries
      TaskResult r;
      try {
        auto parsed = TaskResultFromJson(nlohmann::json::parse(item.body));
        if (parsed.ok()) {
          r = std::move(parsed).value();
          if (r.task_id.empty()) r.task_id = it->second.task_id;
        } else {
          r.outcome = Outcome::kCrashed;
          r.error = "the worker's result is not valid: " + parsed.status().message();
        }
      } catch (const std::exception&) {
        r.outcome = Outcome::kCrashed;
        r.error = "the worker's result object is not JSON";
      }
      r.task_id = it->second.task_id;
      remove.push_back(item.name);
      Finish(item.name, std::move(r));
    }
  }
  // Listing errors are transient here: the next poll retries; lost attempts still expire.
  const int64_t now = clock_.NowMonoUs();
  std::vector<std::string> lost;
  for (const auto& [name, p] : pending_) {
    if (now >= p.deadline_us) lost.push_back(name);
  }
  for (const auto& name : lost) {
    TaskResult r;
    r.task_id = pending_[name].task_id;
    r.outcome = Outcome::kCrashed;
    r.error = "no result arrived within the task's deadline plus " +
              std::to_string(opt_.lost_after_ms / 1000) +
              " s: the worker died or the function timed out (see the function's logs)";
    if (!last_poll_error_.empty()) r.error += "; listing the results failed: " + last_poll_error_;
    Finish(name, std::move(r));
  }
  if (!remove.empty() && opt_.before_remove) opt_.before_remove();
  inbox_.Remove(std::move(remove));
  SchedulePoll();
}

void AsyncInvoker::Finish(const std::string& name, TaskResult r) {
  auto it = pending_.find(name);
  if (it == pending_.end()) return;
  auto done = std::move(it->second.done);
  pending_.erase(it);
  done(std::move(r));
}

}  // namespace parallelagram::driver
