// LocalLambda: an embeddable local AWS Lambda service (the `local-lambda` command and the
// driver's default local backend).
//
// It serves the Lambda API (AWS's paths, status codes, headers and JSON error bodies) on
// one Boost.Asio io_context thread, unpacks each function's zip and runs its `bootstrap`
// as real processes (one per execution environment, each in its own session) that speak
// the Lambda Runtime API to a per-environment listener on an ephemeral loopback port.
// Environments are kept warm and reused. Timeouts, memory (best effort, by watching RSS),
// account/reserved concurrency and payload limits are enforced as Lambda does.
//
// Thread-safety: Start() may be called from any thread; the returned object's methods are
// thread-safe. All service work happens on the object's own thread.
// Ownership: the LocalLambda owns its thread, sockets, child processes and work_dir (a
// temporary work_dir is removed on Stop()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::local {

// Fault injection (`--inject`, src/local/fault_injection.h has the kinds and their effects).
// The service asks the policy once per Invoke request, on the service thread, after
// validating it and before admitting it; kNone means "serve normally". It reports each fault
// it acts on through Injected(). No policy is installed by default.
enum class FaultKind { kNone, kThrottle, kServiceError, kCrash, kHang, kSlowStart, kDuplicate };
class FaultPolicy {
 public:
  virtual ~FaultPolicy() = default;
  virtual FaultKind OnInvoke(std::string_view function_name, std::string_view invocation_type) = 0;
  // The service injected `kind` into the invocation `request_id` whose event is `payload`.
  virtual void Injected(FaultKind /*kind*/, const std::string& /*request_id*/,
                        const std::string& /*payload*/) {}
  // A delay for a fault, uniform in [lo, hi] ms (slow-start length, crash moment).
  virtual int64_t RandomMs(int64_t lo, int64_t /*hi*/) { return lo; }
};

struct LocalLambdaOptions {
  std::string host = "127.0.0.1";  // address the Lambda API listens on
  int port = 0;                    // 0: an ephemeral port (see LocalLambda::port())
  int concurrency = 1000;          // account concurrency limit
  // SigV4 verification: when both are set every request must be signed with this key;
  // when both are empty any request is accepted. Never logged.
  std::string access_key_id, secret_access_key;
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string work_dir;  // "" = a fresh temporary directory, removed on Stop()

  // Async (Event) invocations: delays before the 2nd and 3rd attempt after a function
  // error (AWS: about 1 and 2 minutes), and how long a throttled event stays queued.
  std::vector<int64_t> event_retry_delays_ms = {60000, 120000};
  int64_t max_event_age_ms = 6 * 3600 * 1000;
  // The unreserved pool can never go below this (AWS: 100). -1: min(100, concurrency / 10).
  int min_unreserved_concurrency = -1;
  // How often busy environments' memory is sampled (0: never).
  int64_t memory_poll_ms = 100;
  // A Lambda API connection idle this long (waiting for a request) is closed (0: never).
  int64_t api_idle_timeout_ms = 120000;
  // As Lambda: a created function is Pending this long before it is Active (and cannot be
  // invoked or updated meanwhile); after an update its LastUpdateStatus is InProgress this
  // long before Successful (no other update meanwhile). 0: Active and Successful at once
  // (the embedded backend, which waits for nothing); `local-lambda --state-delay`: 1 s.
  int64_t state_delay_ms = 0;
  // Function environments inherit from this process, as Lambda passes a role's
  // credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and every
  // AWS_ENDPOINT_URL*; also PATH and, for sanitizer builds, ASAN/UBSAN/LSAN_OPTIONS.
  std::shared_ptr<FaultPolicy> faults;  // null: no fault injection
};

class LocalLambda {
 public:
  // Binds the listener (so port() is known on return) and starts serving on a new thread.
  // Errors: InvalidArgument (bad host), IoError (bind failed, work_dir not creatable).
  static Result<std::unique_ptr<LocalLambda>> Start(LocalLambdaOptions options);
  ~LocalLambda();  // Stop()
  LocalLambda(const LocalLambda&) = delete;
  LocalLambda& operator=(const LocalLambda&) = delete;

  int port() const;
  std::string endpoint() const;  // "http://127.0.0.1:PORT"

  // Stops serving, kills every environment's processes and waits for the thread.
  // Thread-safe and idempotent; must not be called from the service thread.
  void Stop();

  struct Impl;

 private:
  explicit LocalLambda(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parallelagram::local
