// AsyncInvoker: the async mode's Invoker (`run --mode async`). Each task attempt is one Event
// invocation (HTTP 202: queued); the worker writes its TaskResult to a result object named
// for the attempt, and the driver learns of results by polling a ResultInbox (a listing of the
// job's result prefix), not by one request per pending task.
//
// Attempt naming: the event's result_uri is replaced by the inbox's URI of "<seq>.<n>.json"
// (n counts this invoker's attempts, from Options::first_number; a resumed job starts past
// every number its earlier runs used), so a late or duplicated delivery of an older attempt can
// never be taken for the current one: objects that match no pending attempt are deleted.
//
// Outcomes: a refused invocation is classified as LambdaInvoker::Classify does (429 ->
// kThrottled, 5xx/no answer -> kTransport, other 4xx -> kFailed). An accepted attempt whose
// result has not appeared `lost_after_ms` after the task's deadline (its timeout, else the
// function's) ends as kCrashed ("no result ... the worker died or the function timed out"):
// the worker writes a result for every outcome it sees itself, so only a dead environment or
// the function's own timeout leaves none.
//
// Contract: as Invoker. Thread-safety: loop thread only. Borrows `http`, `timers`, `clock`
// and `inbox`, which must outlive it; callbacks after destruction are dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "driver/invoker.h"
#include "driver/lambda_invoker.h"
#include "driver/result_inbox.h"
#include "http/http_client.h"

namespace parallelagram::driver {

class AsyncInvoker : public Invoker {
 public:
  struct Options {
    LambdaInvoker::Options invoke;  // endpoint, function, signer, function timeout
    int64_t poll_interval_ms = 500;
    int64_t lost_after_ms = 120000;
    int64_t first_number = 1;  // n of the first attempt's "<seq>.<n>.json"
    // Called in Invoke(), before the request is sent, with the attempt's result object name
    // (the journal records it, so a resume can collect the result). May be null.
    std::function<void(const std::string& task_id, const std::string& name)> on_named;
    // Called after a poll's results were handed to their callbacks and before their objects
    // are deleted from the inbox: it must make what the callbacks recorded durable (the
    // results manifest), so that no result exists only in memory once its object is gone.
    std::function<void()> before_remove;
    // Called when listing the inbox starts failing (and again after it recovered and fails
    // anew), with the error: polls keep retrying, and attempts whose results cannot be read
    // end as crashed at their deadline, so the user must hear why. May be null.
    std::function<void(const std::string& error)> on_poll_error;
  };
  AsyncInvoker(HttpClient& http, Timers& timers, const Clock& clock, ResultInbox& inbox,
               Options options);
  ~AsyncInvoker() override;
  void Invoke(TaskEvent event, std::function<void(TaskResult)> done) override;

  size_t pending() const { return pending_.size(); }
  int64_t polls() const { return polls_; }

 private:
  struct Pending {
    std::string task_id;
    int64_t deadline_us = 0;
    std::function<void(TaskResult)> done;
  };
  void SchedulePoll();
  void Poll();
  void OnPolled(Result<std::vector<ResultInbox::Item>> items);
  void Finish(const std::string& name, TaskResult r);

  HttpClient& http_;
  Timers& timers_;
  const Clock& clock_;
  ResultInbox& inbox_;
  Options opt_;
  int64_t counter_ = 0;
  std::map<std::string, Pending> pending_;  // by result object name
  bool poll_scheduled_ = false;
  bool polling_ = false;
  int64_t polls_ = 0;
  std::string last_poll_error_;  // of the latest poll, "" when it succeeded
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parallelagram::driver
