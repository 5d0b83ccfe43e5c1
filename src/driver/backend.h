// Backend: where a job's tasks run and its files are staged. The local backend (an embedded
// LocalLambda with the real worker, a directory object store) is built by
// StartLocalBackend (local_backend.h); the AWS backend (Lambda + S3) differs only in the
// endpoint and the store. RunJob receives a factory so tests can substitute a fake.
//
// Loop: the driver's one I/O loop as a Job needs it (timers, run, stop, post). The real one
// wraps http's IoLoop (IoLoopDriver, io_loop_driver.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "driver/invoker.h"
#include "driver/object_store.h"
#include "driver/result_inbox.h"
#include "driver/staging.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

class Loop : public Timers {
 public:
  // Runs callbacks until Stop() is called.
  virtual void Run() = 0;
  // Makes Run() return after the current callback.
  virtual void Stop() = 0;
  // Runs `fn` on the loop's thread soon. The one method any thread may call.
  virtual void Post(std::function<void()> fn) = 0;
};

// What an async backend tells the job about its result objects (AsyncInvoker::Options'
// hooks). Called on the loop thread.
class AsyncObserver {
 public:
  virtual ~AsyncObserver() = default;
  // Attempt `task_id`'s worker will write its result as object `name`.
  virtual void ResultNamed(const std::string& task_id, const std::string& name) = 0;
  // Results are about to be deleted from the inbox: what was recorded of them must be
  // durable first.
  virtual void BeforeResultRemove() = 0;
  // Listing the results started failing (`error` says why).
  virtual void ResultPollError(const std::string& error) = 0;
};

struct BackendConfig {
  int concurrency = 1;       // -j: environments (local) / in-flight invokes
  int64_t memory_mb = 1024;  // the function's MemorySize
  int64_t function_timeout_s = 900;
  std::string state_root;  // the local store lives in state_root/store
  std::string job_id;
  bool async = false;  // --mode async: Event invocations, results from the store
  // The AWS backend: the function and bucket to use ("" = the deployment record's), and the
  // record's path ("" = the default).
  std::string function_name;
  std::string bucket;
  std::string deployment_config;
  // The local backend's worker executable ("" = the stock bootstrap, FindBootstrap()).
  std::string worker;
  // Async mode (AsyncInvoker::Options): the first result object number, and who is told
  // about result objects (the Job; null: nobody).
  int64_t first_result_number = 1;
  class AsyncObserver* async_observer = nullptr;
};

// The function the tasks run on, as billing sees it.
struct FunctionShape {
  std::string architecture = "x86_64";  // "x86_64" or "arm64"
  int64_t memory_mb = 1024;
  int64_t ephemeral_storage_mb = 512;
  int64_t timeout_s = 900;
  bool local = false;  // the embedded local backend: costs are what Lambda would charge
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Invoker& invoker() = 0;
  virtual ObjectStore& store() = 0;
  // The joblog's Host column (":" for the local backend, as GNU parallel logs local jobs).
  virtual std::string host() const = 0;
  // The most task attempts the backend can run at once (a function's reserved concurrency),
  // or 0 for no limit beyond -j. The driver never keeps more in flight.
  virtual int max_in_flight() const { return 0; }
  // The Lambda function the tasks run on, recorded in job.json for `parallelagram cancel`
  // ("" for the local backend).
  virtual std::string function_name() const { return ""; }
  // The Lambda function's environment variables as read at start (empty for the local
  // backend): a program that is its own worker checks the build deploy recorded there.
  virtual const std::map<std::string, std::string>& function_environment() const {
    static const std::map<std::string, std::string> kNone;
    return kNone;
  }
  // The function's architecture, memory, /tmp size and timeout (for costs and --max-cost).
  virtual FunctionShape shape() const { return {}; }
  // The S3 requests the driver sent for this job so far (its store and its result inbox), by
  // price class; none on the local backend.
  virtual aws::S3RequestCounts s3_requests() const { return {}; }
  // One line for the user about where the job runs ("" for nothing to say).
  virtual std::string description() const { return ""; }
  // How `run` stages inputs for this backend (staging.h). The AWS backend returns
  // {.bundle = true, .where = "S3", .report = true}: local executables are bundled with their
  // libraries and the upload summary is printed. RunJob fills in the rest (program,
  // --bundle-exe, work_dir).
  virtual StagingOptions staging_options() const { return {}; }
  // Async mode: the inbox the workers write results to (a resume collects what is already
  // there before dispatching). Null in sync mode.
  virtual ResultInbox* inbox() { return nullptr; }
};

using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(const BackendConfig&)>;

}  // namespace parallelagram::driver
