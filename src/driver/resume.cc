#include "driver/resume.h"

#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/json_text.h"
#include "common/utf8.h"
#include "driver/job_control.h"
#include "driver/state_dir.h"

namespace parallelagram::driver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

namespace {

// One recorded value: a JSON string, or {"b64":..} for bytes that are not UTF-8.
std::string ValueLine(const std::string& v) {
  std::string l = IsValidUtf8(v) ? Dump(json(v)) : Dump({{"b64", Base64Encode(v)}});
  l += '\n';
  return l;
}

}  // namespace

InputRecorder::~InputRecorder() {
  if (f_) std::fclose(f_);
}

Status InputRecorder::Open(const std::string& dir, const std::vector<InputSource>& sources) {
  const std::string path = dir + "/inputs.jsonl";
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return Status::IoError("cannot write '" + tmp + "': " + std::strerror(errno));
  for (const InputSource& s : sources) {
    // A streamed source's values follow as they are read, then {"end":N}.
    std::string head = s.stream_path.empty()
                           ? Dump({{"origin", s.origin}, {"count", s.values.size()}})
                           : Dump({{"origin", s.origin}, {"stream", true}});
    head += '\n';
    std::fwrite(head.data(), 1, head.size(), f);
    if (!s.stream_path.empty()) break;  // the last source
    for (const std::string& v : s.values) {
      std::string l = ValueLine(v);
      std::fwrite(l.data(), 1, l.size(), f);
    }
  }
  if (std::fflush(f) != 0) {
    std::fclose(f);
    return Status::IoError("cannot write '" + tmp + "' (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::fclose(f);
    return Status::IoError("cannot write '" + path + "': " + ec.message());
  }
  f_ = f;  // still open: streamed values are appended
  return Status::Ok();
}

void InputRecorder::Append(const std::vector<std::string>& values) {
  std::string lines;
  for (const std::string& v : values) lines += ValueLine(v);
  std::lock_guard<std::mutex> l(mu_);
  if (!f_) return;
  std::fwrite(lines.data(), 1, lines.size(), f_);
  std::fflush(f_);
}

void InputRecorder::End(int64_t count) {
  std::string l = Dump({{"end", count}}) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  if (!f_) return;
  std::fwrite(l.data(), 1, l.size(), f_);
  std::fflush(f_);
}

Status WriteRecordedInputs(const std::string& dir, const std::vector<InputSource>& sources) {
  InputRecorder r;
  return r.Open(dir, sources);
}

Result<std::vector<InputSource>> ReadRecordedInputs(const std::string& dir) {
  const std::string path = dir + "/inputs.jsonl";
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Status::IoError("cannot read '" + path +
                           "': the job did not record its inputs, so it cannot be resumed; run "
                           "it again");
  }
  auto damaged = [&] {
    return Status::IoError("'" + path + "' is damaged, so the job cannot be resumed; run it again");
  };
  std::vector<InputSource> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    json head = json::parse(line, nullptr, false);
    if (!head.is_object()) return damaged();
    InputSource s;
    s.origin = head.value("origin", std::string());
    auto value_of = [&](const std::string& l, std::string* v) {
      json j = json::parse(l, nullptr, false);
      if (j.is_string()) {
        *v = j.get<std::string>();
        return true;
      }
      if (j.is_object() && j.contains("b64") && j["b64"].is_string()) {
        auto bytes = Base64Decode(j["b64"].get<std::string>());
        if (!bytes) return false;
        *v = std::move(*bytes);
        return true;
      }
      return false;
    };
    if (head.value("stream", false)) {
      // Values as they were read, then {"end":N}; without it the reading had not ended when
      // the job stopped (a torn last line is dropped).
      s.complete = false;
      while (std::getline(f, line)) {
        if (f.eof()) break;  // no '\n': torn
        json j = json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("end")) {
          s.complete = true;
          break;
        }
        std::string v;
        if (!value_of(line, &v)) return damaged();
        s.values.push_back(std::move(v));
      }
      out.push_back(std::move(s));
      break;  // the last source
    }
    if (!head.contains("count")) return damaged();
    const auto count = head["count"].get<uint64_t>();
    s.values.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      if (!std::getline(f, line)) return damaged();
      std::string v;
      if (!value_of(line, &v)) return damaged();
      s.values.push_back(std::move(v));
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) return damaged();
  return out;
}

Result<std::vector<uint8_t>> ReadFinishedTasks(const std::string& dir, int64_t total,
                                               double* cost_usd) {
  std::vector<uint8_t> out(static_cast<size_t>(std::max<int64_t>(0, total)), 0);
  if (cost_usd != nullptr) *cost_usd = 0;
  const std::string path = dir + "/results.jsonl";
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;  // nothing finished yet
  std::string line;
  while (std::getline(f, line)) {
    if (f.eof()) break;  // no '\n': torn, not durable
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) continue;
    const auto seq = j["seq"].get<int64_t>();
    if (seq < 1 || seq > total) continue;
    if (cost_usd != nullptr && j.contains("cost_usd") && j["cost_usd"].is_number()) {
      *cost_usd += j["cost_usd"].get<double>();
    }
    auto& slot = out[static_cast<size_t>(seq - 1)];
    if (slot == 0) slot = j.value("outcome", std::string()) == "succeeded" ? 1 : 2;
  }
  return out;
}

Status CheckResumeConflicts(const RunOptions& given, const RunOptions& rec,
                            const std::string& job_id) {
  const RunOptions def;
  auto conflict = [&](const std::string& flag, const std::string& recorded) {
    return Status::InvalidArgument(
        flag + " conflicts with job " + job_id + ", which runs with " +
        (recorded.empty() ? std::string("no ") + flag : flag + " " + recorded) +
        " as recorded at its start; drop " + flag + " (a resumed job keeps its options)");
  };
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
#define PG_CHECK_FIELD(field, flag, show)                     \
  if (given.field != def.field && given.field != rec.field) { \
    return conflict(flag, show(rec.field));                   \
  }
  auto str = [](const std::string& s) { return s; };
  auto num = [](auto x) { return fmt::format("{}", x); };
  auto flag = [](bool b) { return b ? std::string("set") : std::string(); };
  PG_CHECK_FIELD(jobs, "--jobs", num);
  PG_CHECK_FIELD(timeout_s, "--timeout", num);
  PG_CHECK_FIELD(retries, "--retries", num);
  PG_CHECK_FIELD(keep_order, "--keep-order", flag);
  PG_CHECK_FIELD(results_dir, "--results", str);
  PG_CHECK_FIELD(joblog, "--joblog", str);
  PG_CHECK_FIELD(json, "--json", flag);
  PG_CHECK_FIELD(shell, "--shell", flag);
  PG_CHECK_FIELD(link, "--link", flag);
  PG_CHECK_FIELD(job_id, "--job-id", str);
  PG_CHECK_FIELD(backend, "--backend", str);
  PG_CHECK_FIELD(mode, "--mode", str);
  PG_CHECK_FIELD(function_name, "--function", str);
  PG_CHECK_FIELD(bucket, "--bucket", str);
  PG_CHECK_FIELD(config, "--config", str);
  PG_CHECK_FIELD(no_download, "--no-download", flag);
  PG_CHECK_FIELD(bundle_exes, "--bundle-exe", list);
  PG_CHECK_FIELD(basefiles, "--basefile", list);
  PG_CHECK_FIELD(transferfiles, "--transferfile", list);
  PG_CHECK_FIELD(returns, "--return", list);
  PG_CHECK_FIELD(cleanup, "--cleanup", flag);
  PG_CHECK_FIELD(memory_mb, "--memory", num);
  PG_CHECK_FIELD(max_output_bytes, "--max-output", num);
  PG_CHECK_FIELD(prices, "--prices", str);
  PG_CHECK_FIELD(env, "--env", list);
  PG_CHECK_FIELD(env_secret, "--env-secret", flag);
  PG_CHECK_FIELD(tag, "--tag", flag);
  PG_CHECK_FIELD(tagstring, "--tagstring", str);
  PG_CHECK_FIELD(files, "--files", flag);
  PG_CHECK_FIELD(delay_s, "--delay", num);
  // How inputs became tasks: a resume recomputes the same tasks only with the same options.
  PG_CHECK_FIELD(colsep, "--colsep", str);
  PG_CHECK_FIELD(header, "--header", str);
  PG_CHECK_FIELD(trim, "--trim", str);
  PG_CHECK_FIELD(eof, "-E", str);
  PG_CHECK_FIELD(max_args, rec.max_replace ? "-N" : "-n", num);
  PG_CHECK_FIELD(max_replace, "-N", flag);
  PG_CHECK_FIELD(multi_x, "-X", flag);
  PG_CHECK_FIELD(multi_m, "-m", flag);
  PG_CHECK_FIELD(xargs, "--xargs", flag);
  PG_CHECK_FIELD(max_lines, "-L", num);
  PG_CHECK_FIELD(null_input, "--null", flag);
  PG_CHECK_FIELD(delimiter, "--delimiter", str);
#undef PG_CHECK_FIELD
  auto halt_differs = [](const HaltPolicy& a, const HaltPolicy& b) {
    return a.when != b.when || a.on_failure != b.on_failure || a.count != b.count ||
           a.percent != b.percent;
  };
  if (halt_differs(given.halt, def.halt) && halt_differs(given.halt, rec.halt)) {
    return conflict("--halt", "its recorded policy");
  }
  auto spec_differs = [](const SpeculateOptions& a, const SpeculateOptions& b) {
    return a.mode != b.mode || a.deadline_ms != b.deadline_ms;
  };
  if (spec_differs(given.speculate, def.speculate) &&
      spec_differs(given.speculate, rec.speculate)) {
    return conflict("--speculate", "its recorded setting");
  }
  return Status::Ok();
}

Result<ResumePlan> PrepareResume(const RunOptions& given) {
  ResumePlan plan;
  PG_ASSIGN_OR_RETURN(plan.root, ResolveStateRoot(given.state_dir));
  PG_ASSIGN_OR_RETURN(plan.job_id, ResolveLastJob(plan.root, given.resume));
  PG_ASSIGN_OR_RETURN(JobSummary summary, ReadJob(plan.root, plan.job_id));
  const std::string dir = plan.root + "/jobs/" + plan.job_id;
  plan.info = summary.info;
  if (!plan.info.is_object() || !plan.info.contains("option_args") ||
      !plan.info.contains("command")) {
    return Status::NotFound("job " + plan.job_id +
                            " has no usable job.json (it was killed before it started, or "
                            "was made by an older version), so it cannot be resumed; run it "
                            "again");
  }
  const std::string status = plan.info.value("status", std::string());
  const int pid = plan.info.value("pid", 0);
  if ((status == "running" || status == "starting") && IsLiveDriver(pid)) {
    return Status::InvalidArgument(fmt::format(
        "job {} is still running (driver pid {}); wait for it, or stop it with 'parallelagram "
        "cancel {}' and then resume",
        plan.job_id, pid, plan.job_id));
  }

  // The recorded options, parsed again as they were given.
  std::vector<std::string> args;
  auto option_args = BytesArrayFromJson(plan.info["option_args"]);
  auto command = BytesArrayFromJson(plan.info["command"]);
  if (!option_args || !command) {
    return Status::IoError("job " + plan.job_id + "'s job.json is damaged; it cannot be resumed");
  }
  bool pipe_part = false;
  for (const std::string& w : *option_args) {
    if (w == "--pipe") {
      return Status::InvalidArgument(
          "job " + plan.job_id +
          " split stdin with --pipe, which cannot be resumed (stdin was read once and its "
          "blocks are not kept); run it again");
    }
    pipe_part = pipe_part || w == "--pipe-part";
  }
  std::optional<std::string> pipe_input;
  if (pipe_part) {  // the same file, split again the same way: no recorded inputs
    pipe_input =
        plan.info.contains("pipe_input") ? BytesFromJson(plan.info["pipe_input"]) : std::nullopt;
    if (!pipe_input) {
      return Status::InvalidArgument("job " + plan.job_id +
                                     " does not say which file it split; run it again");
    }
    std::error_code ec;
    if (plan.info.contains("pipe_input_size") &&
        static_cast<int64_t>(std::filesystem::file_size(*pipe_input, ec)) !=
            plan.info["pipe_input_size"].get<int64_t>()) {
      return Status::InvalidArgument("job " + plan.job_id + "'s input " + *pipe_input +
                                     (ec ? " is gone" : " changed size since the job split it") +
                                     ", so its blocks would not be the same; run the job again");
    }
    for (size_t k = 0; k + 1 < option_args->size(); ++k) {  // -a FILE as recorded: absolute
      if ((*option_args)[k] == "--arg-file") (*option_args)[k + 1] = *pipe_input;
    }
  }
  args = std::move(*option_args);
  args.push_back("--");
  for (auto& w : *command) args.push_back(std::move(w));
  if (!pipe_part) {
    args.push_back(":::");
    args.push_back("-");
  }
  auto rec = ParseRunArgs(args);
  if (!rec.ok()) {
    return rec.status().WithContext("job " + plan.job_id + "'s recorded options");
  }
  RunOptions o = std::move(rec).value();
  if (!pipe_part) {
    PG_ASSIGN_OR_RETURN(o.sources, ReadRecordedInputs(dir));
  }
  o.job_id = plan.job_id;
  o.state_dir = plan.root;
  o.resume = plan.job_id;
  if (plan.info.contains("jobs") && plan.info["jobs"].is_number_integer()) {
    o.jobs = plan.info["jobs"].get<int>();  // the effective -j, even when defaulted
  }
  // The budget: the latest run's (job.json "max_cost_usd"), which a resume may raise.
  if (plan.info.contains("max_cost_usd") && plan.info["max_cost_usd"].is_number()) {
    o.max_cost_usd = plan.info["max_cost_usd"].get<double>();
  }
  PG_RETURN_IF_ERROR(CheckResumeConflicts(given, o, plan.job_id));
  if (given.max_cost_usd > 0) {
    if (o.max_cost_usd > 0 && given.max_cost_usd < o.max_cost_usd) {
      return Status::InvalidArgument(fmt::format(
          "--max-cost {} is lower than job {}'s budget of {}; a resume may only raise it",
          given.max_cost_usd, plan.job_id, o.max_cost_usd));
    }
    o.max_cost_usd = given.max_cost_usd;
  }
  // Presentation may change.
  if (!given.report.empty()) o.report = given.report;
  if (given.quiet) {
    o.quiet = true;
    o.progress = false;
  }
  if (given.eta || given.bar) o.quiet = false;
  o.eta = o.eta || given.eta;
  o.bar = o.bar || given.bar;
  if (given.line_buffer || given.ungroup) {
    o.line_buffer = given.line_buffer;
    o.ungroup = given.ungroup;
  }
  if (given.progress) {
    o.progress = true;
    o.quiet = false;
  }

  if (status == "finished" || status == "halted") {
    plan.finished = true;
    plan.message = fmt::format(
        "job {} already {}: {} succeeded, {} failed, {} not run (exit status {}); nothing to "
        "run. 'parallelagram results {}' shows them",
        plan.job_id, status, plan.info.value("succeeded", int64_t{0}),
        plan.info.value("failed", int64_t{0}), plan.info.value("not_run", int64_t{0}),
        plan.info.value("exit_status", 0), plan.job_id);
  }
  plan.options = std::move(o);
  return plan;
}

}  // namespace parallelagram::driver
