#include "aws/aws_client.h"

#include <optional>
#include <utility>

#include "aws/sigv4.h"

namespace parallelagram::aws {

CredentialsFn StaticCredentials(Credentials c) {
  return [c = std::move(c)]() -> Result<Credentials> { return c; };
}

struct AwsClient::Call {
  AwsRequest request;
  std::function<void(AwsResult<HttpResponse>)> done;
  int attempt = 0;
  int tokens_taken = 0;
  std::string credential_source;
};

AwsClient::AwsClient(EventLoop& loop, HttpClient& http, CredentialsFn credentials,
                     ServiceConfig config)
    : AwsClient(loop, http, std::move(credentials), std::move(config), Options{}) {}

AwsClient::AwsClient(EventLoop& loop, HttpClient& http, CredentialsFn credentials,
                     ServiceConfig config, Options options)
    : loop_(loop),
      http_(http),
      credentials_(std::move(credentials)),
      config_(std::move(config)),
      options_(std::move(options)),
      retry_(options_.retry, options_.clock) {
  while (!config_.endpoint.empty() && config_.endpoint.back() == '/') config_.endpoint.pop_back();
  if (!options_.schedule) {
    options_.schedule = [this](int64_t ms, std::function<void()> fn) {
      loop_.AddTimer(ms, std::move(fn));
    };
  }
}

AwsClient::~AwsClient() = default;

void AwsClient::Send(AwsRequest request, std::function<void(AwsResult<HttpResponse>)> done) {
  auto call = std::make_shared<Call>();
  if (request.http.url.find("://") == std::string::npos) {
    request.http.url = config_.endpoint + request.http.url;
  }
  call->request = std::move(request);
  call->done = std::move(done);
  // First attempt on the next iteration: `done` is never called from inside Send().
  loop_.AddTimer(0, [this, call] { Attempt(call); });
}

AwsRequest MakeQueryRequest(const std::string& action, const std::string& version,
                            const std::vector<std::pair<std::string, std::string>>& params) {
  AwsRequest r;
  r.operation = action;
  r.http.method = "POST";
  r.http.url = "/";
  r.http.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.http.body = "Action=" + UriEncode(action, false) + "&Version=" + UriEncode(version, false);
  for (const auto& [k, v] : params) {
    r.http.body += "&" + UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return r;
}

void AwsClient::Attempt(std::shared_ptr<Call> call) {
  call->attempt++;
  const std::string context = config_.service + " " + call->request.operation;
  if (call->request.http.timeout_ms == 0) {
    call->request.http.timeout_ms = options_.request_timeout_ms;
  }
  if (call->request.anonymous) {
    http_.Send(call->request.http,
               [this, call](Result<HttpResponse> r) { OnResponse(call, std::move(r)); });
    return;
  }
  Result<Credentials> creds = credentials_();
  if (!creds.ok()) {
    AwsError e;
    e.status = creds.status().WithContext(context);
    e.code = "CredentialsError";
    e.attempts = call->attempt;
    return Fail(call, std::move(e));
  }
  call->credential_source = creds->source;

  HttpRequest http = call->request.http;
  SigningParams params;
  params.service = config_.service;
  params.region = config_.region;
  params.epoch_seconds = retry_.NowEpochMsCorrected() / 1000;
  params.s3_rules = config_.s3_rules;
  params.unsigned_payload = call->request.unsigned_payload;
  params.sign_content_sha256 = true;  // moto needs it for Lambda GETs; harmless elsewhere
  params.payload_hash = call->request.payload_hash;
  SigningResult signed_parts;
  Status s = SignRequest(http, *creds, params, &signed_parts);
  if (!s.ok()) {
    AwsError e;
    e.status = s.WithContext(context);
    e.code = "SigningError";
    e.attempts = call->attempt;
    return Fail(call, std::move(e));
  }
  // Hash a body file once, not on every attempt.
  if (call->request.payload_hash.empty() && !call->request.unsigned_payload) {
    call->request.payload_hash = signed_parts.payload_hash;
  }
  http_.Send(std::move(http),
             [this, call](Result<HttpResponse> r) { OnResponse(call, std::move(r)); });
}

void AwsClient::OnResponse(std::shared_ptr<Call> call, Result<HttpResponse> r) {
  const std::string context = config_.service + " " + call->request.operation;
  AwsError error;
  if (!r.ok()) {
    error = TransportError(r.status(), context);
  } else if (r->status >= 200 && r->status < 300) {
    retry_.OnSuccess(call->tokens_taken);
    auto done = std::move(call->done);
    done(std::move(r).value());
    return;
  } else {
    error = ParseAwsError(config_.protocol, *r, context);
  }
  error.attempts = call->attempt;
  int tokens = 0;
  int64_t delay = retry_.OnFailure(error, call->attempt, call->request.max_attempts, &tokens);
  if (delay < 0) return Fail(call, std::move(error));
  call->tokens_taken = tokens;
  options_.schedule(delay, [this, call] { Attempt(call); });
}

void AwsClient::Fail(std::shared_ptr<Call> call, AwsError error) {
  if (error.status.code() == StatusCode::kPermissionDenied && !call->credential_source.empty()) {
    error.status = Status(error.status.code(),
                          error.status.message() + "; credentials from " + call->credential_source);
  }
  if (error.attempts > 1) {
    error.status = Status(error.status.code(), error.status.message() + " [after " +
                                                   std::to_string(error.attempts) + " attempts]");
  }
  auto done = std::move(call->done);
  done(std::move(error));
}

AwsResult<HttpResponse> AwsClient::SendAndWait(AwsRequest request) {
  std::optional<AwsResult<HttpResponse>> out;
  Send(std::move(request), [&out](AwsResult<HttpResponse> r) { out.emplace(std::move(r)); });
  while (!out) loop_.RunOnce(1000);
  return std::move(*out);
}

}  // namespace parallelagram::aws
