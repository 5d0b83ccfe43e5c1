#include "driver/aws_backend.h"

#include <fmt/format.h>

#include "aws/aws_session.h"
#include "aws/lambda_client.h"
#include "aws/s3_client.h"
#include "aws/signer.h"
#include "common/clock.h"
#include "deploy/deployment_record.h"
#include "driver/async_invoker.h"
#include "driver/deployment_choice.h"
#include "driver/io_loop_driver.h"
#include "driver/lambda_invoker.h"
#include "driver/result_inbox.h"
#include "driver/s3_object_store.h"
#include "driver/staging.h"
#include "http/http1_client.h"

namespace parallelagram::driver {
namespace {

constexpr const char* kDeployHint = "parallelagram deploy --function NAME --bucket BUCKET";

class AwsBackend : public Backend {
 public:
  Invoker& invoker() override {
    if (async_invoker) return *async_invoker;
    return *sync_invoker;
  }
  ObjectStore& store() override { return *object_store; }
  ResultInbox* inbox() override { return result_inbox.get(); }
  std::string host() const override { return "lambda:" + function; }
  int max_in_flight() const override { return reserved.value_or(0); }
  std::string function_name() const override { return function; }
  std::string description() const override { return describe; }
  FunctionShape shape() const override { return function_shape; }
  aws::S3RequestCounts s3_requests() const override {
    aws::S3RequestCounts c = object_store ? object_store->s3_requests() : aws::S3RequestCounts{};
    if (s3) c += s3->requests();
    return c;
  }
  const std::map<std::string, std::string>& function_environment() const override {
    return environment;
  }
  StagingOptions staging_options() const override {
    StagingOptions so;
    so.bundle = true;
    so.where = "S3";
    so.report = true;
    return so;
  }

  // Destroyed in reverse order: invokers before the clients they borrow.
  std::string function;
  std::optional<int> reserved;
  std::map<std::string, std::string> environment;
  std::string describe;
  FunctionShape function_shape;
  std::unique_ptr<aws::AwsSession> session;
  std::unique_ptr<IoLoopDriver> timers;
  std::unique_ptr<HttpClient> invoke_http;  // Http1Client: see http/http1_client.h
  std::unique_ptr<aws::S3Client> s3;
  std::unique_ptr<ObjectStore> object_store;
  std::unique_ptr<ResultInbox> result_inbox;
  std::unique_ptr<LambdaInvoker> sync_invoker;
  std::unique_ptr<AsyncInvoker> async_invoker;
};

bool IsAuthError(const aws::AwsError& e) {
  return e.http_status == 401 || e.http_status == 403 || e.code == "InvalidSignatureException" ||
         e.code == "UnrecognizedClientException" || e.code == "ExpiredTokenException" ||
         e.code == "AccessDeniedException" || e.code == "InvalidClientTokenId";
}

}  // namespace

Result<std::unique_ptr<Backend>> StartAwsBackend(IoLoop& loop, const BackendConfig& config,
                                                 const aws::Environment& env_in) {
  aws::Environment env = env_in;
  // 1. What to run on (deployment_choice.h).
  PG_ASSIGN_OR_RETURN(
      deploy::DeploymentRecord rec,
      ChooseDeployment(config.deployment_config, config.function_name, config.bucket, env));
  if (rec.prefix.empty()) rec.prefix = "parallelagram";
  if (!rec.region.empty() && env.Get("AWS_REGION").empty() &&
      env.Get("AWS_DEFAULT_REGION").empty()) {
    env.Set("AWS_REGION", rec.region);
  }

  auto b = std::make_unique<AwsBackend>();
  b->function = rec.function_name;
  PG_ASSIGN_OR_RETURN(b->session, aws::AwsSession::Open(env, &loop));
  aws::AwsSession& session = *b->session;
  auto creds = session.GetCredentials();
  if (!creds.ok()) {
    return Status(creds.status().code(), "cannot get AWS credentials: " + creds.status().message() +
                                             "; see `parallelagram doctor`");
  }
  std::string source = session.credentials()->Describe();

  // 2. The function: it exists, we may call it, and how much may run at once.
  aws::LambdaClient lambda(session.Client("lambda"));
  auto fn = lambda.GetFunctionAndWait(rec.function_name);
  if (!fn.ok()) {
    const aws::AwsError& e = fn.error();
    if (e.code == "ResourceNotFoundException" || e.http_status == 404) {
      return Status::NotFound(fmt::format(
          "Lambda function '{}' does not exist in {} (credentials from {}): deploy it with `{}`, "
          "or name the right one with --function",
          rec.function_name, session.region(), source, kDeployHint));
    }
    if (IsAuthError(e)) {
      return Status::PermissionDenied(fmt::format(
          "AWS refused the credentials from {} reading function '{}' ({}: {}): fix them, then "
          "check with `parallelagram doctor --function {}`",
          source, rec.function_name, e.code, e.message, rec.function_name));
    }
    return Status(e.status.code(),
                  "cannot read Lambda function '" + rec.function_name + "': " + e.status.message());
  }
  b->reserved = fn->reserved_concurrency;
  b->environment = fn->configuration.environment;
  if (b->reserved && *b->reserved == 0) {
    return Status::InvalidArgument(fmt::format(
        "Lambda function '{}' has reserved concurrency 0, so every invocation is throttled "
        "(a `parallelagram cancel` may have left it so): raise it with `{} "
        "--reserved-concurrency N`",
        rec.function_name, kDeployHint));
  }
  const aws::FunctionConfiguration& fc = fn->configuration;
  if (!fc.architectures.empty()) b->function_shape.architecture = fc.architectures.front();
  if (fc.memory_mb > 0) b->function_shape.memory_mb = fc.memory_mb;
  if (fc.ephemeral_storage_mb > 0) b->function_shape.ephemeral_storage_mb = fc.ephemeral_storage_mb;
  if (fc.timeout_seconds > 0) b->function_shape.timeout_s = fc.timeout_seconds;

  // 3. The store and the invokers.
  PG_ASSIGN_OR_RETURN(b->object_store, S3ObjectStore::Open(env, rec.bucket, rec.prefix));
  b->timers = std::make_unique<IoLoopDriver>(loop);
  int in_flight = b->reserved ? std::min(*b->reserved, config.concurrency) : config.concurrency;
  b->invoke_http = MakeInvokeHttpClient(loop, in_flight + 4);

  const aws::Endpoint& ep = session.endpoint("lambda");
  LambdaInvoker::Options io;
  io.endpoint = ep.url;
  io.function_name = rec.function_name;
  io.function_timeout_s = fc.timeout_seconds > 0 ? fc.timeout_seconds : 900;
  // The Lambda client's signer: the same credentials provider and the same clock-skew
  // correction as the session's Lambda calls (no copy of the credentials per invoke); a
  // clock-skew answer to an invoke corrects it and is retried once (lambda_invoker.h).
  io.SignWith(session.Client("lambda").signer());
  if (config.async) {
    aws::S3Client::Options so;
    so.path_style = session.s3_path_style();
    b->s3 = std::make_unique<aws::S3Client>(session.Client("s3"), so);
    b->result_inbox = std::make_unique<S3ResultInbox>(
        *b->s3, rec.bucket, rec.prefix + "/jobs/" + config.job_id + "/results/");
    AsyncInvoker::Options eo;
    eo.invoke = io;
    eo.poll_interval_ms = 1000;
    eo.first_number = config.first_result_number;
    if (AsyncObserver* obs = config.async_observer) {
      eo.on_named = [obs](const std::string& id, const std::string& n) { obs->ResultNamed(id, n); };
      eo.before_remove = [obs] { obs->BeforeResultRemove(); };
      eo.on_poll_error = [obs](const std::string& e) { obs->ResultPollError(e); };
    }
    b->async_invoker = std::make_unique<AsyncInvoker>(*b->invoke_http, *b->timers,
                                                      SystemClock::Get(), *b->result_inbox, eo);
  } else {
    b->sync_invoker = std::make_unique<LambdaInvoker>(*b->invoke_http, io);
  }
  b->describe = fmt::format(
      "running on Lambda function {} ({}, {} MB, timeout {} s, {}), {} mode, data in s3://{}/{}/",
      rec.function_name, session.region(), fc.memory_mb, fc.timeout_seconds,
      b->reserved ? "reserved concurrency " + std::to_string(*b->reserved)
                  : std::string("no reserved concurrency"),
      config.async ? "async" : "sync", rec.bucket, rec.prefix);
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace parallelagram::driver
