// The model behind `parallelagram doctor`: the facts it gathered about the AWS
// setup, and the report (what to print, warnings, problems, exit status) that
// follows from them. Gathering is in doctor_command.cc; this part is pure, so
// every rule is unit-tested.
//
// Secrets: DoctorFacts never holds one. The access key id is kept masked
// (MaskAccessKeyId) and error texts come from Status messages, which never
// hold secrets by the project's convention.
// Thread-safety: pure functions on values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::cli {

// "AKIA****************WXYZ" -> "****WXYZ": at most the last 4 characters.
std::string MaskAccessKeyId(const std::string& access_key_id);

struct DoctorFacts {
  // What the user asked: `run --backend aws -j N [--no-logs]`.
  int jobs = 0;  // 0: not given
  bool no_logs = false;
  std::string function_name;  // "" unless --function

  // The deployments `parallelagram deploy` recorded (deploy/deployment_store.h).
  struct DeploymentFact {
    std::string function;
    std::string region;
    std::string bucket;
    std::string prefix;
    std::string path;  // the record file
  };
  std::string deployments_where;  // the store, for messages
  Status deployments_status;      // not ok: a record could not be read
  std::vector<DeploymentFact> deployments;

  // Configuration and where it came from.
  Status credentials_status;
  std::string credentials_source;
  std::string access_key_hint;  // masked
  bool temporary_credentials = false;
  Status region_status;
  std::string region;
  std::string region_source;
  struct EndpointFact {
    std::string service;
    Status status;
    std::string url;
    std::string source;
  };
  std::vector<EndpointFact> endpoints;

  // STS GetCallerIdentity.
  Status identity_status;
  std::string account;
  std::string caller_arn;

  // Lambda GetAccountSettings.
  Status account_settings_status;
  int64_t concurrency_limit = -1;
  int64_t unreserved_concurrency = -1;

  // Lambda GetFunction (with --function).
  Status function_status;
  int64_t memory_mb = 0;
  int64_t timeout_s = 0;
  std::string architecture;
  std::string runtime;
  std::string state;  // "Active", "Pending", ...
  std::string last_update_status;
  std::string role_arn;
  std::optional<int64_t> reserved_concurrency;

  // IAM: the function role's policies (with --function).
  Status role_status;
  std::optional<bool> role_can_create_log_streams;
};

struct DoctorReport {
  std::vector<std::string> lines;     // the facts, one per line
  std::vector<std::string> warnings;  // "warning: ..." lines (do not fail doctor)
  std::vector<std::string> problems;  // "problem: ... ; do ..." lines
  int exit_code = 0;                  // 0 only without problems

  std::string Render() const;  // every line, '\n'-terminated
};

DoctorReport BuildDoctorReport(const DoctorFacts& facts);

}  // namespace parallelagram::cli
