// parallelagram doctor: checks that everything `run --backend aws` needs is in
// place, printing where each piece of configuration came from (never a
// secret), and exits 0 only when it is. The rules are in doctor_report.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "aws/aws_client.h"
#include "aws/aws_config.h"
#include "aws/credentials_chain.h"
#include "aws/endpoints.h"
#include "aws/iam_client.h"
#include "aws/iam_policy.h"
#include "aws/s3_client.h"
#include "aws/sigv4.h"
#include "aws/sts_client.h"
#include "cli/commands.h"
#include "cli/doctor_report.h"
#include "http/http_client.h"

namespace parallelagram::cli {
namespace {

const Status kSkipped = Status::Cancelled("skipped: an earlier check failed");

// Lambda's REST-JSON answers for GetAccountSettings and GetFunction.
void ReadAccountSettings(const std::string& body, DoctorFacts& f) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("AccountLimit")) {
    f.account_settings_status =
        Status::ProtocolError("lambda GetAccountSettings: answer without AccountLimit");
    return;
  }
  f.concurrency_limit = j["AccountLimit"].value("ConcurrentExecutions", int64_t{-1});
  f.unreserved_concurrency = j["AccountLimit"].value("UnreservedConcurrentExecutions", int64_t{-1});
}

void ReadFunction(const std::string& body, DoctorFacts& f) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("Configuration") || !j["Configuration"].is_object()) {
    f.function_status = Status::ProtocolError("lambda GetFunction: answer without Configuration");
    return;
  }
  const auto& c = j["Configuration"];
  f.memory_mb = c.value("MemorySize", int64_t{0});
  f.timeout_s = c.value("Timeout", int64_t{0});
  if (c.contains("Architectures") && c["Architectures"].is_array() && !c["Architectures"].empty() &&
      c["Architectures"][0].is_string()) {
    f.architecture = c["Architectures"][0].get<std::string>();
  }
  f.runtime = c.value("Runtime", "");
  f.state = c.value("State", "");
  f.last_update_status = c.value("LastUpdateStatus", "");
  f.role_arn = c.value("Role", "");
  if (j.contains("Concurrency") && j["Concurrency"].is_object() &&
      j["Concurrency"].contains("ReservedConcurrentExecutions")) {
    f.reserved_concurrency = j["Concurrency"]["ReservedConcurrentExecutions"].get<int64_t>();
  }
}

}  // namespace

int DoctorMain(int argc, char** argv) {
  CLI::App app{
      "Checks the AWS setup `parallelagram run --backend aws` needs: credentials, "
      "region, endpoints (and where each came from), the caller's identity, the "
      "account's Lambda concurrency and, with --function, the function and its role. "
      "Exits 0 only when everything is in place.",
      argv[0]};
  DoctorFacts f;
  app.add_option("--function", f.function_name, "the Lambda function `run` will invoke");
  app.add_option("-j,--jobs", f.jobs, "the parallelism you plan to run with")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-logs", f.no_logs, "you plan to run without CloudWatch logs");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::printf("%s", app.help().c_str());
      return 0;
    }
    std::fprintf(stderr, "%s: %s; see --help\n", argv[0], e.what());
    return kExitUsage;
  }

  aws::Environment env = aws::Environment::FromProcess();
  auto config = aws::SharedConfig::Load(env);
  std::optional<aws::Profile> profile;
  if (config.ok()) profile = config->Find(aws::SharedConfig::SelectedProfileName(env));
  const aws::Profile* prof = profile ? &*profile : nullptr;

  // Region and endpoints.
  auto region = aws::ResolveRegion(env, prof);
  if (!config.ok()) {
    f.region_status = config.status();
  } else if (!region.ok()) {
    f.region_status = region.status();
  } else {
    f.region = region->region;
    f.region_source = region->source;
  }
  std::map<std::string, aws::Endpoint> eps;
  if (f.region_status.ok()) {
    for (const char* service : {"s3", "lambda", "iam", "sts"}) {
      auto ep = aws::ResolveEndpoint(service, f.region, env, prof);
      DoctorFacts::EndpointFact e{service, ep.status(), "", ""};
      if (ep.ok()) {
        e.url = ep->url;
        e.source = ep->source;
        eps[service] = *ep;
      }
      f.endpoints.push_back(std::move(e));
    }
  }

  // Credentials (fetched once; never printed beyond the masked key id).
  std::shared_ptr<aws::RefreshingCredentials> creds;
  if (!config.ok()) {
    f.credentials_status = config.status();
  } else {
    auto c = aws::DefaultCredentials(env, *config, SystemClock::Get());
    if (!c.ok()) {
      f.credentials_status = c.status();
    } else {
      creds = *c;
      auto got = creds->Get();
      if (!got.ok()) {
        f.credentials_status = got.status();
      } else {
        f.credentials_source = got->source;
        f.access_key_hint = MaskAccessKeyId(got->access_key_id);
        f.temporary_credentials = !got->session_token.empty();
      }
    }
  }

  bool can_call = f.credentials_status.ok() && f.region_status.ok() && eps.size() == 4;
  f.identity_status = kSkipped;
  f.account_settings_status = kSkipped;
  f.function_status = kSkipped;
  f.role_status = kSkipped;
  if (can_call) {
    EventLoop loop;
    CurlHttpClient http(loop);
    auto provider = [creds]() { return creds->Get(); };
    auto client = [&](const std::string& service, aws::AwsProtocol protocol) {
      const aws::Endpoint& ep = eps[service];
      aws::AwsClient::Options o;
      o.retry.max_attempts = 2;
      return std::make_unique<aws::AwsClient>(
          loop, http, provider,
          aws::ServiceConfig{ep.signing_name, ep.signing_region, ep.url, protocol, service == "s3"},
          o);
    };
    auto sts_aws = client("sts", aws::AwsProtocol::kQuery);
    aws::StsClient sts(*sts_aws);
    auto id = sts.GetCallerIdentityAndWait();
    f.identity_status = id.status();
    if (id.ok()) {
      f.account = id->account;
      f.caller_arn = id->arn;

      auto lambda_aws = client("lambda", aws::AwsProtocol::kRestJson);
      aws::AwsRequest settings;
      settings.operation = "GetAccountSettings";
      settings.http.url = "/2016-08-19/account-settings/";
      auto s = lambda_aws->SendAndWait(settings);
      f.account_settings_status = s.status();
      if (s.ok()) ReadAccountSettings(s->body, f);

      if (!f.function_name.empty()) {
        aws::AwsRequest get;
        get.operation = "GetFunction";
        get.http.url = "/2015-03-31/functions/" + aws::UriEncode(f.function_name, false);
        auto fn = lambda_aws->SendAndWait(get);
        f.function_status = fn.status();
        if (fn.ok()) ReadFunction(fn->body, f);
      }
      if (f.function_status.ok() && !f.role_arn.empty()) {
        std::string role = aws::RoleNameFromArn(f.role_arn);
        auto iam_aws = client("iam", aws::AwsProtocol::kQuery);
        aws::IamClient iam(*iam_aws);
        auto docs = aws::AwaitAws<std::vector<std::string>>(
            loop, [&](auto d) { iam.GetRolePolicyDocuments(role, d); });
        f.role_status = docs.status();
        if (docs.ok()) {
          auto decision = aws::EvaluatePolicies(*docs, "logs:CreateLogStream");
          f.role_status = decision.status();
          if (decision.ok()) {
            f.role_can_create_log_streams = *decision == aws::PolicyDecision::kAllowed;
          }
        }
      }
    }
  }

  DoctorReport report = BuildDoctorReport(f);
  std::fputs(report.Render().c_str(), stdout);
  std::fflush(stdout);
  return report.exit_code;
}

}  // namespace parallelagram::cli
