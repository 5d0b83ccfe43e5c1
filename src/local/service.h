// Service: the local Lambda service's state and request handling: the Lambda API (control
// plane in control_plane.cc, Invoke and scheduling in service.cc), functions, execution
// environments, concurrency accounting and the Event queue.
//
// Thread-safety: none; every method runs on the io_context's one thread (Listen() may run
// before that thread starts). Ownership: owns functions, environments and listeners.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>

#include "local/execution_environment.h"
#include "local/http_server.h"
#include "local/lambda_types.h"
#include "local/local_lambda.h"

namespace parallelagram::local {

class Service {
 public:
  Service(boost::asio::io_context& io, LocalLambdaOptions options, std::string work_dir);
  ~Service();

  Status Listen();
  int port() const { return api_ ? api_->port() : 0; }
  // Closes the listeners, kills and reaps every environment's processes. Idempotent.
  void Shutdown();

 private:
  using ExPtr = std::shared_ptr<HttpExchange>;

  void OnApiRequest(const ExPtr& ex);
  void Reply(const ExPtr& ex, HttpResponseMsg res, const std::string& rid);
  void ReplyJson(const ExPtr& ex, int status, const nlohmann::json& body, const std::string& rid);
  void ReplyError(const ExPtr& ex, int status, const std::string& type, const std::string& msg,
                  const std::string& rid);
  // Finds the function named by a path parameter, or replies 404 and returns null.
  // `qualifier_out`, when given, receives the qualifier the caller named ("" for none).
  std::shared_ptr<Function> FindOr404(const ExPtr& ex, const std::string& ref,
                                      const std::string& rid, bool allow_qualifier,
                                      std::string* qualifier_out = nullptr);
  std::string FunctionArn(const std::string& name) const;
  nlohmann::json ConfigJson(const Function& f) const;
  // True (and answered 409 ResourceConflictException) while `f` is Pending or an update of
  // it is InProgress: Lambda refuses another update then.
  bool RefuseWhileChanging(const ExPtr& ex, const std::string& rid, const Function& f);
  // The decoded value of the request's query parameter `name`; "" when absent.
  static std::string QueryParam(const ExPtr& ex, const std::string& name);
  // Parses the body as a JSON object or replies 400 InvalidRequestContentException.
  bool ParseBody(const ExPtr& ex, const std::string& rid, nlohmann::json* out);
  // Validates and applies configuration fields; replies with the error on failure.
  bool ApplyConfig(const ExPtr& ex, const std::string& rid, const nlohmann::json& body,
                   FunctionConfig* cfg, bool creating);
  // Decodes and unpacks Code.ZipFile into a new generation directory of `f`.
  bool InstallCode(const ExPtr& ex, const std::string& rid, const nlohmann::json& zip_field,
                   Function* f, int generation);

  // Control plane (control_plane.cc).
  void CreateFunction(const ExPtr& ex, const std::string& rid);
  void GetFunction(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void GetFunctionConfiguration(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void UpdateFunctionCode(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void UpdateFunctionConfiguration(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void DeleteFunction(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void ListFunctions(const ExPtr& ex, const std::string& rid);
  void PutFunctionConcurrency(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void GetFunctionConcurrency(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void DeleteFunctionConcurrency(const ExPtr& ex, const std::string& rid, const std::string& ref);
  void PutFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                    const std::string& ref);
  void GetFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                    const std::string& ref);
  void DeleteFunctionEventInvokeConfig(const ExPtr& ex, const std::string& rid,
                                       const std::string& ref);
  std::shared_ptr<Function> FindEventInvokeConfigOr404(const ExPtr& ex, const std::string& ref,
                                                       const std::string& rid);
  // Retries after a function error, and the longest an event may wait, for `f`'s events.
  int EventRetries(const Function& f) const;
  int64_t MaxEventAgeMs(const Function& f) const;
  void GetAccountSettings(const ExPtr& ex, const std::string& rid);
  // After a code/config change or delete: idle environments of older generations go.
  void RetireIdle(Function& f);
  // A code directory replaced (UpdateFunctionCode) or of a deleted function: removed as soon
  // as no live environment runs from it (now, or when the last one dies).
  void RetireCodeDir(const std::string& dir);
  void SweepCodeDirs();

  // Data plane (service.cc).
  void Invoke(const ExPtr& ex, const std::string& rid, const std::string& ref);
  int ReservedTotal() const;
  int MinUnreserved() const;
  // Whether `f` may start one more invocation now; else sets *reason (a ThrottleReason).
  bool Admit(const Function& f, std::string* reason) const;
  void Assign(std::unique_ptr<Invocation> inv);
  void OnIdle(const std::shared_ptr<ExecutionEnvironment>& env);
  void OnFinished(const std::shared_ptr<ExecutionEnvironment>& env, std::unique_ptr<Invocation> inv,
                  InvocationResult result);
  void OnDead(const std::shared_ptr<ExecutionEnvironment>& env);
  void PumpEvents();
  void ArmPump(int64_t at_ms);
  void PollMemory();
  std::vector<std::string> BaseEnvironment(const Function& f, const std::string& env_dir) const;

  boost::asio::io_context& io_;
  LocalLambdaOptions options_;
  std::string work_dir_;
  std::shared_ptr<HttpServer> api_;
  std::map<std::string, std::shared_ptr<Function>> functions_;
  std::set<std::shared_ptr<ExecutionEnvironment>> envs_;
  std::deque<std::unique_ptr<Invocation>> events_;
  boost::asio::steady_timer pump_timer_;
  int64_t pump_at_ms_ = 0;
  boost::asio::steady_timer memory_timer_;
  bool memory_polling_ = false;
  int64_t next_env_id_ = 0;
  std::vector<std::string> retired_code_dirs_;
  bool shut_down_ = false;
};

}  // namespace parallelagram::local
