// parallelagram doctor: checks that everything `run --backend aws` needs is in
// place, printing where each piece of configuration came from (never a
// secret), and exits 0 only when it is. The rules are in doctor_report.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "aws/aws_client.h"
#include "aws/aws_config.h"
#include "aws/credentials_chain.h"
#include "aws/endpoints.h"
#include "aws/iam_client.h"
#include "aws/iam_policy.h"
#include "aws/lambda_client.h"
#include "aws/sts_client.h"
#include "cli/commands.h"
#include "cli/doctor_report.h"
#include "deploy/deployment_store.h"
#include "driver/prices.h"
#include "http/http_client.h"

namespace parallelagram::cli {
namespace {

const Status kSkipped = Status::Cancelled("skipped: an earlier check failed");

void ReadFunction(const aws::GetFunctionResult& fn, DoctorFacts& f) {
  const aws::FunctionConfiguration& c = fn.configuration;
  f.memory_mb = c.memory_mb;
  f.timeout_s = c.timeout_seconds;
  if (!c.architectures.empty()) f.architecture = c.architectures.front();
  f.runtime = c.runtime;
  f.state = c.state;
  f.last_update_status = c.last_update_status;
  f.role_arn = c.role;
  if (fn.reserved_concurrency) f.reserved_concurrency = *fn.reserved_concurrency;
}

}  // namespace

int DoctorMain(int argc, char** argv) {
  CLI::App app{
      "Checks the AWS setup `parallelagram run --backend aws` needs and prints where the "
      "credentials, region and each endpoint (s3, lambda, iam, sts) came from; never a secret.\n"
      "Exit 0 means everything is in place: credentials resolve, a region is set, every "
      "endpoint resolves, STS GetCallerIdentity accepts the credentials, Lambda "
      "GetAccountSettings answers, and, with --function, the function exists, is State Active, "
      "its last update did not fail and its reserved concurrency is not 0. Anything else is a "
      "'problem:' line and exit 1. Pitfalls that do not stop a run are 'warning:' lines (exit "
      "0): no reserved concurrency on the function, an account concurrency limit below -j, a "
      "role that allows logs:CreateLogStream under --no-logs, a role whose policies cannot be "
      "read.",
      argv[0]};
  DoctorFacts f;
  app.add_option("--function", f.function_name, "the Lambda function `run` will invoke");
  app.add_option("-j,--jobs", f.jobs, "the parallelism you plan to run with")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--no-logs", f.no_logs, "you plan to run without CloudWatch logs");
  std::string prices_file;
  app.add_option("--prices", prices_file,
                 "a prices file overriding the built-in us-east-1 table (as `run --prices`)");
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
  const deploy::DeploymentStore store = deploy::DeploymentStore::Default(env);
  f.deployments_where = store.Describe();
  auto recorded = store.List();
  f.deployments_status = recorded.status();
  if (recorded.ok()) {
    for (const auto& e : *recorded) {
      const deploy::DeploymentRecord& d = e.record;
      f.deployments.push_back({d.function_name, d.region, d.bucket, d.prefix, e.path});
    }
  }
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
    IoLoop loop;
    CurlHttpClient http(loop);
    auto provider = [creds]() { return creds->GetShared(); };
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
      aws::LambdaClient lambda(*lambda_aws);
      auto settings = lambda.GetAccountSettingsAndWait();
      f.account_settings_status = settings.status();
      if (settings.ok()) {
        f.concurrency_limit = settings->concurrent_executions;
        f.unreserved_concurrency = settings->unreserved_concurrent_executions;
      }

      if (!f.function_name.empty()) {
        auto fn = lambda.GetFunctionAndWait(f.function_name);
        f.function_status = fn.status();
        if (fn.ok()) ReadFunction(*fn, f);
      }
      if (f.function_status.ok() && !f.role_arn.empty()) {
        std::string role = aws::RoleNameFromArn(f.role_arn);
        auto iam_aws = client("iam", aws::AwsProtocol::kQuery);
        aws::IamClient iam(*iam_aws);
        auto docs = aws::RunUntilDone<std::vector<std::string>>(
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
  // Which price table costs are computed with (--prices, $PARALLELAGRAM_PRICES, the config
  // directory's prices.json, or the built-in one).
  auto prices = driver::ResolvePrices(prices_file);
  if (prices.ok()) {
    report.lines.push_back(driver::DescribePrices(*prices));
  } else {
    report.problems.push_back(prices.status().message());
    report.exit_code = 1;
  }
  std::fputs(report.Render().c_str(), stdout);
  std::fflush(stdout);
  return report.exit_code;
}

}  // namespace parallelagram::cli
