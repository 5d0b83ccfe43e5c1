#include "cli/doctor_report.h"

#include <fmt/format.h>

namespace parallelagram::cli {

std::string MaskAccessKeyId(const std::string& id) {
  if (id.empty()) return "";
  if (id.size() <= 8) return "****";  // too short to show any of it safely
  return "****" + id.substr(id.size() - 4);
}

std::string DoctorReport::Render() const {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  for (const auto& w : warnings) out += "warning: " + w + "\n";
  for (const auto& p : problems) out += "problem: " + p + "\n";
  out += problems.empty() ? "ok: ready for 'parallelagram run --backend aws'\n"
                          : fmt::format("not ready: {} problem(s) above\n", problems.size());
  return out;
}

DoctorReport BuildDoctorReport(const DoctorFacts& f) {
  DoctorReport r;
  auto problem = [&](std::string s) { r.problems.push_back(std::move(s)); };
  auto finish = [&r]() {
    r.exit_code = r.problems.empty() ? 0 : 1;
    return r;
  };

  if (f.credentials_status.ok()) {
    r.lines.push_back(fmt::format("credentials: {} (access key {}{})", f.credentials_source,
                                  f.access_key_hint, f.temporary_credentials ? ", temporary" : ""));
  } else {
    r.lines.push_back("credentials: none usable");
    problem(
        fmt::format("credentials: {}; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
                    "AWS_PROFILE with ~/.aws/credentials, or run 'aws configure'",
                    f.credentials_status.message()));
  }
  if (f.region_status.ok()) {
    r.lines.push_back(fmt::format("region: {} (from {})", f.region, f.region_source));
  } else {
    r.lines.push_back("region: not set");
    problem(fmt::format("region: {}; set AWS_REGION (e.g. export AWS_REGION=us-east-1)",
                        f.region_status.message()));
  }
  for (const auto& e : f.endpoints) {
    if (e.status.ok()) {
      r.lines.push_back(fmt::format("endpoint {}: {} (from {})", e.service, e.url, e.source));
    } else {
      r.lines.push_back(fmt::format("endpoint {}: unresolved", e.service));
      problem(fmt::format("endpoint {}: {}", e.service, e.status.message()));
    }
  }

  if (f.identity_status.ok()) {
    r.lines.push_back(fmt::format("identity: {} (account {})", f.caller_arn, f.account));
  } else if (f.credentials_status.ok() && f.region_status.ok()) {
    problem(fmt::format("{}; check the credentials named above", f.identity_status.message()));
  }

  if (f.account_settings_status.ok()) {
    r.lines.push_back(fmt::format("lambda account: concurrency limit {}, unreserved {}",
                                  f.concurrency_limit, f.unreserved_concurrency));
    if (f.jobs > 0 && f.concurrency_limit >= 0 && f.concurrency_limit < f.jobs) {
      r.warnings.push_back(fmt::format(
          "the account's Lambda concurrency limit ({}) is far below -j {}: tasks beyond it are "
          "throttled; run with -j {} or ask AWS Support for a higher limit (Service Quotas: "
          "'Concurrent executions')",
          f.concurrency_limit, f.jobs, f.concurrency_limit));
    }
  } else if (f.identity_status.ok()) {
    problem(
        fmt::format("{}; the credentials need "
                    "lambda:GetAccountSettings and Lambda must be reachable",
                    f.account_settings_status.message()));
  }

  if (!f.deployments_status.ok()) {
    r.warnings.push_back(
        fmt::format("cannot read the deployment records: {}", f.deployments_status.message()));
  } else if (f.deployments.empty()) {
    r.lines.push_back(fmt::format("deployments: none recorded in {}", f.deployments_where));
  } else {
    r.lines.push_back(
        fmt::format("deployments: {} recorded in {}", f.deployments.size(), f.deployments_where));
    for (const auto& d : f.deployments) {
      r.lines.push_back(fmt::format("deployment {}: region {}, data in s3://{}/{}/ ({})",
                                    d.function, d.region.empty() ? "unknown" : d.region, d.bucket,
                                    d.prefix, d.path));
    }
  }

  if (f.function_name.empty()) {
    r.lines.push_back(
        f.deployments.size() == 1
            ? fmt::format("function: not checked (pass --function {})", f.deployments[0].function)
            : std::string("function: not checked (pass --function NAME)"));
    return finish();
  }
  if (!f.function_status.ok()) {
    if (f.identity_status.ok()) {
      problem(
          fmt::format("function '{}': {}; create it or pass the right --function (and "
                      "region)",
                      f.function_name, f.function_status.message()));
    }
    return finish();
  }
  r.lines.push_back(fmt::format(
      "function {}: {} MB, timeout {} s, {}{}, state {}{}", f.function_name, f.memory_mb,
      f.timeout_s, f.architecture.empty() ? "x86_64" : f.architecture,
      f.runtime.empty() ? "" : ", runtime " + f.runtime, f.state.empty() ? "unknown" : f.state,
      f.last_update_status.empty() ? "" : ", last update " + f.last_update_status));
  r.lines.push_back(
      fmt::format("function {}: reserved concurrency {}", f.function_name,
                  f.reserved_concurrency ? std::to_string(*f.reserved_concurrency) : "none"));
  r.lines.push_back(fmt::format("function {}: role {}", f.function_name, f.role_arn));
  if (!f.state.empty() && f.state != "Active") {
    problem(
        fmt::format("function '{}' is {} (not Active); wait for it, or look at its "
                    "StateReason with 'aws lambda get-function --function-name {}'",
                    f.function_name, f.state, f.function_name));
  }
  if (!f.last_update_status.empty() && f.last_update_status != "Successful" &&
      f.last_update_status != "InProgress") {
    problem(
        fmt::format("function '{}': last update {}; fix the configuration and update it "
                    "again",
                    f.function_name, f.last_update_status));
  }
  if (f.reserved_concurrency && *f.reserved_concurrency == 0) {
    problem(
        fmt::format("function '{}' has reserved concurrency 0, so it can never run; "
                    "'aws lambda put-function-concurrency --function-name {} "
                    "--reserved-concurrent-executions N'",
                    f.function_name, f.function_name));
  } else if (!f.reserved_concurrency) {
    r.warnings.push_back(fmt::format(
        "function '{}' has no reserved concurrency: a big job can take the whole account's "
        "concurrency and starve other functions; set it with 'aws lambda "
        "put-function-concurrency --function-name {} --reserved-concurrent-executions N'",
        f.function_name, f.function_name));
  } else if (f.jobs > 0 && *f.reserved_concurrency < f.jobs) {
    r.warnings.push_back(fmt::format(
        "function '{}' has reserved concurrency {}, below -j {}: tasks beyond it are throttled",
        f.function_name, *f.reserved_concurrency, f.jobs));
  }

  if (!f.role_status.ok()) {
    r.warnings.push_back(fmt::format("could not read the role's policies ({}); logs not checked",
                                     f.role_status.message()));
  } else if (f.role_can_create_log_streams) {
    r.lines.push_back(fmt::format("role: {} logs:CreateLogStream",
                                  *f.role_can_create_log_streams ? "allows" : "does not allow"));
    if (*f.role_can_create_log_streams && f.no_logs) {
      r.warnings.push_back(
          "you asked for no logs (--no-logs) but the function's role allows "
          "logs:CreateLogStream: every new execution environment still creates a log stream "
          "(shared 50/s account rate); remove logs:* from the role's policies");
    }
  }
  return finish();
}

}  // namespace parallelagram::cli
