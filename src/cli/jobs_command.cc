// parallelagram jobs / parallelagram results: inspect the state directory's jobs.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/base64.h"
#include "common/json_text.h"
#include "driver/prices.h"
#include "driver/state_dir.h"

namespace parallelagram::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kJobsHelp = R"(usage: parallelagram jobs [--state-dir DIR] [--json]

Lists the jobs recorded in the state directory (default $XDG_STATE_HOME/parallelagram, i.e.
~/.local/state/parallelagram), oldest first: id, start time, status (running, finished,
halted, interrupted), tasks finished/total, failures, and the command.
  --json   one JSON object per job instead of the table
)";

constexpr const char* kResultsHelp =
    R"(usage: parallelagram results JOB [--state-dir DIR] [--format table|jsonl|csv] [-o FILE]

Prints a job's results, one per finished task in task order.
  --format table   (default) seq, outcome, exit code, runtime, command
  --format jsonl   the results manifest: one JSON object per task, outputs included
  --format csv     seq,outcome,exit_code,signal,attempts,runtime_s,command,stdout,stderr
  --stdout         print the tasks' stdout, concatenated in task order
  -o FILE          write to FILE instead of stdout
  JOB may be 'last' for the most recent job.
)";

struct Args {
  std::string state_dir, format = "table", out, job;
  bool json = false, help = false, stdout_only = false;
};

int Usage(const std::string& cmd, const std::string& msg) {
  std::fprintf(stderr, "%s: %s; see '%s --help'\n", cmd.c_str(), msg.c_str(), cmd.c_str());
  return kExitUsage;
}

// Parses the shared options; positional words go to `job` (at most one).
bool ParseArgs(int argc, char** argv, Args& a, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](std::string& dst) {
      if (i + 1 >= argc) {
        err = "option " + s + " needs a value";
        return false;
      }
      dst = argv[++i];
      return true;
    };
    if (s == "-h" || s == "--help") {
      a.help = true;
    } else if (s == "--state-dir") {
      if (!value(a.state_dir)) return false;
    } else if (s.rfind("--state-dir=", 0) == 0) {
      a.state_dir = s.substr(12);
    } else if (s == "--format") {
      if (!value(a.format)) return false;
    } else if (s.rfind("--format=", 0) == 0) {
      a.format = s.substr(9);
    } else if (s == "-o" || s == "--output") {
      if (!value(a.out)) return false;
    } else if (s == "--json") {
      a.json = true;
    } else if (s == "--stdout") {
      a.stdout_only = true;
    } else if (!s.empty() && s[0] == '-') {
      err = "unknown option '" + s + "'";
      return false;
    } else if (a.job.empty()) {
      a.job = s;
    } else {
      err = "unexpected argument '" + s + "'";
      return false;
    }
  }
  return true;
}

std::string CommandOf(const json& info) {
  if (!info.contains("command") || !info["command"].is_array()) return "";
  std::string c;
  for (const auto& w : info["command"]) {
    if (!c.empty()) c += ' ';
    c += BytesFromJson(w).value_or(DumpLenient(w));
  }
  return c;
}

std::string Output(const json& r, const char* name) {
  std::string b64 = std::string(name) + "_b64";
  if (r.contains(name) && r[name].is_string()) return r[name].get<std::string>();
  if (r.contains(b64) && r[b64].is_string())
    return Base64Decode(r[b64].get<std::string>()).value_or("");
  std::string file = std::string(name) + "_file";
  if (r.contains(file) && r[file].is_string()) {
    std::ifstream f(r[file].get<std::string>(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return "";
}

std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

std::string Field(const json& r, const char* k) {
  if (!r.contains(k) || r[k].is_null()) return "";
  return r[k].is_string() ? r[k].get<std::string>() : r[k].dump();
}

}  // namespace

int JobsMain(int argc, char** argv) {
  Args a;
  std::string err;
  if (!ParseArgs(argc, argv, a, err)) return Usage(argv[0], err);
  if (a.help) {
    std::fputs(kJobsHelp, stdout);
    return 0;
  }
  if (!a.job.empty()) {
    // Suggest `results` only for what it would take.
    if (!driver::CheckJobId(a.job).ok() && a.job != "last") {
      return Usage(argv[0], "'jobs' takes no arguments (it lists every job)");
    }
    return Usage(argv[0], "'jobs' takes no job id; use 'parallelagram results " + a.job + "'");
  }
  auto root = driver::ResolveStateRoot(a.state_dir);
  if (!root.ok()) return Usage(argv[0], root.status().message());
  auto jobs = driver::ListJobs(*root);
  if (a.json) {
    for (const auto& j : jobs) {
      json o = {{"job_id", j.job_id},
                {"status", j.status},
                {"total", j.total},
                {"finished", j.finished},
                {"succeeded", j.succeeded},
                {"failed", j.failed},
                {"created_at", j.info.value("created_at", "")},
                {"cost_usd", j.info.value("cost_usd", 0.0)},
                {"command", CommandOf(j.info)}};
      std::printf("%s\n", o.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
    return 0;
  }
  if (jobs.empty()) {
    std::printf("no jobs in %s/jobs yet; run one with 'parallelagram run'\n", root->c_str());
    return 0;
  }
  std::printf("%-28s %-20s %-11s %13s %7s %11s  %s\n", "JOB", "STARTED", "STATUS", "DONE/TOTAL",
              "FAILED", "COST", "COMMAND");
  for (const auto& j : jobs) {
    std::string cmd = CommandOf(j.info);
    if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
    const std::string cost = j.info.contains("cost_usd") && j.info["cost_usd"].is_number()
                                 ? driver::FormatUsd(j.info["cost_usd"].get<double>())
                                 : std::string("-");
    std::printf("%-28s %-20s %-11s %13s %7lld %11s  %s\n", j.job_id.c_str(),
                j.info.value("created_at", std::string("-")).c_str(), j.status.c_str(),
                (std::to_string(j.finished) + "/" +
                 (j.total >= 0 ? std::to_string(j.total) : std::string("?")))
                    .c_str(),
                static_cast<long long>(j.failed), cost.c_str(), cmd.c_str());
  }
  return 0;
}

int ResultsMain(int argc, char** argv) {
  Args a;
  std::string err;
  if (!ParseArgs(argc, argv, a, err)) return Usage(argv[0], err);
  if (a.help) {
    std::fputs(kResultsHelp, stdout);
    return 0;
  }
  if (a.job.empty())
    return Usage(argv[0], "which job? give its id ('parallelagram jobs' lists them) or 'last'");
  if (a.format != "table" && a.format != "jsonl" && a.format != "csv") {
    return Usage(argv[0], "--format must be table, jsonl or csv, not '" + a.format + "'");
  }
  auto root = driver::ResolveStateRoot(a.state_dir);
  if (!root.ok()) return Usage(argv[0], root.status().message());
  auto resolved = driver::ResolveLastJob(*root, a.job);
  if (!resolved.ok()) return Usage(argv[0], resolved.status().message());
  a.job = *resolved;
  auto results = driver::ReadResults(*root, a.job);
  if (!results.ok()) return Usage(argv[0], results.status().message());
  std::FILE* out = stdout;
  if (!a.out.empty()) {
    out = std::fopen(a.out.c_str(), "w");
    if (!out) return Usage(argv[0], "cannot write '" + a.out + "'");
  }
  if (a.stdout_only) {
    for (const auto& r : *results) {
      std::string s = Output(r, "stdout");
      std::fwrite(s.data(), 1, s.size(), out);
    }
  } else if (a.format == "jsonl") {
    for (auto r : *results) {
      // Outputs stored beside the manifest are inlined so the export stands alone.
      for (const char* n : {"stdout", "stderr"}) {
        std::string file = std::string(n) + "_file";
        if (r.contains(file)) {
          r[n] = Output(r, n);
          r.erase(file);
        }
      }
      std::fprintf(out, "%s\n", r.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
  } else if (a.format == "csv") {
    std::fprintf(out,
                 "seq,outcome,exit_code,signal,attempts,runtime_s,command,stdout,stderr,billed_ms,"
                 "cost_usd\n");
    for (const auto& r : *results) {
      std::fprintf(out, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", Field(r, "seq").c_str(),
                   Field(r, "outcome").c_str(), Field(r, "exit_code").c_str(),
                   Field(r, "signal").c_str(), Field(r, "attempts").c_str(),
                   Field(r, "runtime_s").c_str(), Csv(Field(r, "command")).c_str(),
                   Csv(Output(r, "stdout")).c_str(), Csv(Output(r, "stderr")).c_str(),
                   Field(r, "billed_ms").c_str(), Field(r, "cost_usd").c_str());
    }
  } else {
    std::fprintf(out, "%6s  %-10s %5s %9s %10s  %s\n", "SEQ", "OUTCOME", "EXIT", "RUNTIME", "COST",
                 "COMMAND");
    double total = 0;
    bool estimate = false;
    for (const auto& r : *results) {
      const double cost = r.value("cost_usd", 0.0);
      total += cost;
      if (r.value("billing_estimate", false)) estimate = true;
      std::string exit =
          r.contains("exit_code") && !r["exit_code"].is_null() ? r["exit_code"].dump() : "-";
      if (r.contains("signal") && !r["signal"].is_null()) exit = "sig" + r["signal"].dump();
      std::fprintf(out, "%6s  %-10s %5s %8.3fs %10s  %s\n", Field(r, "seq").c_str(),
                   Field(r, "outcome").c_str(), exit.c_str(), r.value("runtime_s", 0.0),
                   driver::FormatUsd(cost).c_str(), Field(r, "command").c_str());
    }
    std::fprintf(out, "%zu task(s), %s%s\n", results->size(), driver::FormatUsd(total).c_str(),
                 estimate ? " (partly the workers' own estimate: no REPORT line came back)" : "");
  }
  if (out != stdout) std::fclose(out);
  return 0;
}

}  // namespace parallelagram::cli
