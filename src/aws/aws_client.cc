#include "aws/aws_client.h"

#include <optional>
#include <utility>

#include "aws/sigv4.h"

namespace parallelagram::aws {

struct AwsClient::Call {
  AwsRequest request;
  std::function<void(AwsResult<HttpResponse>)> done;
  int attempt = 0;
  int tokens_taken = 0;
  std::shared_ptr<const Credentials> credentials;  // of the last attempt (for its source)
  bool in_send = false;                            // the first attempt, inside Send()
};

namespace {

std::shared_ptr<Signer> MakeSigner(CredentialsFn credentials, const ServiceConfig& config,
                                   const Clock* clock) {
  Signer::Config sc;
  sc.service = config.service;
  sc.region = config.region;
  sc.s3_rules = config.s3_rules;
  sc.clock = clock;
  return std::make_shared<Signer>(std::move(credentials), std::move(sc));
}

}  // namespace

AwsClient::AwsClient(IoLoop& loop, HttpClient& http, CredentialsFn credentials,
                     ServiceConfig config)
    : AwsClient(loop, http, std::move(credentials), std::move(config), Options{}) {}

AwsClient::AwsClient(IoLoop& loop, HttpClient& http, CredentialsFn credentials,
                     ServiceConfig config, Options options)
    : AwsClient(loop, http, MakeSigner(std::move(credentials), config, options.clock), config,
                std::move(options)) {}

AwsClient::AwsClient(IoLoop& loop, HttpClient& http, std::shared_ptr<Signer> signer,
                     ServiceConfig config, Options options)
    : loop_(loop),
      http_(http),
      config_(std::move(config)),
      signer_(std::move(signer)),
      options_(std::move(options)),
      retry_(options_.retry, signer_->config().clock) {
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
  // The first attempt starts now; a failure before anything is sent (credentials, signing)
  // is reported on the next iteration: `done` is never called from inside Send().
  call->in_send = true;
  Attempt(call);
  call->in_send = false;
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
  Result<std::shared_ptr<const Credentials>> creds = signer_->GetCredentials();
  if (!creds.ok()) {
    AwsError e;
    e.status = creds.status().WithContext(context);
    e.code = "CredentialsError";
    e.attempts = call->attempt;
    return Fail(call, std::move(e));
  }
  call->credentials = std::move(creds).value();

  // The last allowed attempt sends the request itself; earlier ones send a copy (a retry
  // signs the original again).
  const int max_attempts =
      call->request.max_attempts > 0 ? call->request.max_attempts : retry_.options().max_attempts;
  const bool last = call->attempt >= max_attempts;
  HttpRequest http = last ? std::move(call->request.http) : call->request.http;
  Signer::Options so;
  so.unsigned_payload = call->request.unsigned_payload;
  so.payload_hash = call->request.payload_hash;
  SigningResult signed_parts;
  Status s = signer_->Sign(http, *call->credentials, so, &signed_parts);
  if (!s.ok()) {
    AwsError e;
    e.status = s.WithContext(context);
    e.code = "SigningError";
    e.attempts = call->attempt;
    return Fail(call, std::move(e));
  }
  // Hash a body file once, not on every attempt.
  if (call->request.payload_hash.empty() && !call->request.unsigned_payload) {
    call->request.payload_hash = std::move(signed_parts.payload_hash);
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
  const int64_t skew = retry_.clock_skew_ms();
  int64_t delay = retry_.OnFailure(error, call->attempt, call->request.max_attempts, &tokens);
  // A clock skew learnt here is used by everyone signing with this signer.
  if (retry_.clock_skew_ms() != skew) signer_->SetClockSkewMs(retry_.clock_skew_ms());
  if (delay < 0) return Fail(call, std::move(error));
  call->tokens_taken = tokens;
  options_.schedule(delay, [this, call] { Attempt(call); });
}

void AwsClient::Fail(std::shared_ptr<Call> call, AwsError error) {
  if (call->in_send) {
    loop_.AddTimer(0, [this, call, error = std::move(error)]() mutable {
      call->in_send = false;
      Fail(call, std::move(error));
    });
    return;
  }
  if (error.status.code() == StatusCode::kPermissionDenied && call->credentials &&
      !call->credentials->source.empty()) {
    error.status = Status(error.status.code(), error.status.message() + "; credentials from " +
                                                   call->credentials->source);
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
