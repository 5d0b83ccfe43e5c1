#include "driver/run_job.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "driver/arg_shaping.h"
#include "driver/command_template.h"
#include "driver/console_reporter.h"
#include "driver/cost_estimate.h"
#include "driver/input_feed.h"
#include "driver/job_output.h"
#include "driver/job_record.h"
#include "driver/pipe_feed.h"
#include "driver/pipe_options.h"
#include "driver/staging.h"
#include "driver/state_dir.h"
#include "driver/task_plan.h"

namespace parallelagram::driver {
namespace {

// `run`'s inputs as a job's TaskSource.
class FeedSource : public TaskSource {
 public:
  explicit FeedSource(std::unique_ptr<InputFeed> feed) : feed_(std::move(feed)) {}
  Next Pull(SourcedTask* task) override { return static_cast<Next>(feed_->Pull(&task->values)); }
  void SetWake(std::function<void()> wake) override { feed_->SetWake(std::move(wake)); }
  int64_t known_total() const override { return feed_->known_total(); }
  void SetRecorder(std::function<void(const std::vector<std::string>&)> values,
                   std::function<void(int64_t)> end) override {
    feed_->SetRecorder(std::move(values), std::move(end));
  }
  Status error() const override { return feed_->error(); }

 private:
  std::unique_ptr<InputFeed> feed_;
};

int Usage(RunEnv& env, const Status& s) {
  std::fprintf(env.err, "parallelagram run: %s\n", s.message().c_str());
  return kExitUsage;
}

int RunPipeJob(const RunOptions& opts, int jobs, RunEnv& env);
// Runs the job of `opts` on `source`: the console, the job, the --report.
int RunSourcedJob(const RunOptions& opts, std::unique_ptr<TaskSource> source, RunEnv& env);

}  // namespace

int RunJob(const RunOptions& given, RunEnv& env) {
  RunOptions opts = given;
  ApplyHeaderNames(&opts);  // --header: {name} is {N} from here on
  const int num_sources = PositionLimit(opts);
  auto tmpl = CommandTemplate::Parse(opts.command, num_sources, opts.shell);
  if (!tmpl.ok()) return Usage(env, tmpl.status());
  tmpl->set_arg_mode(ArgModeOf(opts));
  const int jobs = opts.jobs > 0 ? opts.jobs : std::max(1, env.default_jobs);
  const ArgShaping shaping = ShapingOf(opts, jobs, &*tmpl);
  if (opts.pipe) return RunPipeJob(opts, jobs, env);
  auto feed = InputFeed::Open(opts.sources, opts.link, shaping);
  if (!feed.ok()) return Usage(env, feed.status());

  if (opts.dry_run) {  // the command lines, as the inputs arrive
    const bool streams = !opts.sources.empty() && !opts.sources.back().stream_path.empty();
    if (!streams) {  // as a run would: inputs known up front have their files checked first
      auto planned = PlanAllTasks({opts.transferfiles, opts.returns, num_sources}, opts.sources,
                                  opts.link, shaping);
      if (!planned.ok()) return Usage(env, planned.status());
    }
    auto prices = ResolvePrices(opts.prices);
    if (!prices.ok()) return Usage(env, prices.status());
    std::vector<std::string> values;
    int64_t tasks = 0;
    for (int64_t seq = 1; (*feed)->Pull(&values, true) == InputFeed::Next::kTask; ++seq) {
      TaskInputs in{seq, static_cast<int>((seq - 1) % jobs) + 1, values};
      std::string line = tmpl->Describe(in);
      if (opts.json) {
        nlohmann::json j = {{"event", "task"},
                            {"seq", seq},
                            {"args", in.values},
                            {"command", line},
                            {"shell", opts.shell}};
        j["argv"] = tmpl->Expand(in);
        line = JsonLine(j);
      }
      WriteAll(env.out, line + "\n");
      std::fflush(env.out);
      tasks = seq;
    }
    // What it would cost: on stderr, so stdout stays the command lines (as GNU parallel's).
    auto root = ResolveStateRoot(opts.state_dir);
    CostEstimate e = EstimateCost(opts, tasks, *prices, root.ok() ? *root : std::string());
    if (opts.json) {
      nlohmann::json j = {{"event", "cost"},
                          {"tasks", tasks},
                          {"worst_usd", e.worst_usd},
                          {"worst_ms_per_attempt", e.worst_ms_per_attempt}};
      if (!e.earlier_job.empty()) {
        j["estimate_usd"] = e.estimate_usd;
        j["earlier_job"] = e.earlier_job;
        j["median_billed_ms"] = e.median_billed_ms;
      }
      WriteAll(env.out, JsonLine(j) + "\n");
    } else if (!opts.quiet) {
      std::fprintf(env.err, "parallelagram: %s\n", DescribeEstimate(opts, e, *prices).c_str());
    }
    return 0;
  }

  return RunSourcedJob(opts, std::make_unique<FeedSource>(std::move(feed).value()), env);
}

namespace {

// --pipe / --pipe-part: the blocks of the input are the tasks.
int RunPipeJob(const RunOptions& opts, int jobs, RunEnv& env) {
  if (opts.dry_run) {
    return Usage(env, Status::InvalidArgument(
                          "--dry-run cannot list --pipe's tasks: they are the blocks the input is "
                          "cut into as it is read; run without --dry-run"));
  }
  PipeOptions po;
  po.rules = BlockRulesOf(opts);
  po.part = opts.pipe_part;
  po.input = opts.pipe_input;
  po.part_slices = opts.block_slices;
  // A local file's split points cost a read per block: found before the job starts (so a
  // resume knows its tasks); an S3 object's, a GET each, as the tasks start (unless resuming).
  po.split_up_front = !IsS3Uri(po.input) || !opts.resume.empty();
  po.jobs = jobs;
  po.lookahead = static_cast<size_t>(std::min(jobs, 64)) + 2;
  int fd = 0;
  if (!po.part && po.input != "-") {  // --pipe -a FILE: the file instead of stdin
    fd = ::open(po.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Usage(env, Status::NotFound("cannot open '" + po.input + "': " + strerror(errno)));
    }
  }
  po.input_fd = fd;
  std::unique_ptr<ObjectStore> input_store;
  if (po.part && IsS3Uri(po.input)) {
    auto checked = S3InputPath(po.input);  // s3:/BUCKET/KEY
    if (!checked.ok()) return Usage(env, checked.status().WithContext("--pipe-part"));
    auto bucket = Result<std::string>(checked->substr(4, checked->find('/', 4) - 4));
    if (!env.open_s3) {
      return Usage(env, Status::InvalidArgument("--pipe-part cannot read s3:// inputs here"));
    }
    auto opened = env.open_s3(*bucket);
    if (!opened.ok()) return Usage(env, opened.status().WithContext("--pipe-part " + po.input));
    input_store = std::move(opened).value();
    po.input_store = input_store.get();
    auto size = input_store->Size(po.input);  // a missing object starts nothing
    if (!size.ok()) return Usage(env, size.status().WithContext("--pipe-part"));
    po.input_size = *size;
  }
  auto feed = PipeFeed::Open(std::move(po));
  if (!feed.ok()) {
    if (fd > 0) ::close(fd);
    return Usage(env, feed.status());
  }
  const int status = RunSourcedJob(opts, std::move(feed).value(), env);
  if (fd > 0) ::close(fd);
  return status;
}

int RunSourcedJob(const RunOptions& opts, std::unique_ptr<TaskSource> source, RunEnv& env) {
  ConsoleReporter::Settings cs;
  cs.output = {opts.keep_order, opts.json, opts.quiet, opts.halt.when == HaltPolicy::When::kNow,
               opts.files};
  cs.output.live = opts.line_buffer ? JobOutput::Settings::Live::kLines
                   : opts.ungroup   ? JobOutput::Settings::Live::kRaw
                                    : JobOutput::Settings::Live::kOff;
  cs.progress = opts.progress;
  cs.err_is_tty = env.err_is_tty;
  cs.gnu_status = opts.bar   ? ConsoleReporter::Settings::Gnu::kBar
                  : opts.eta ? ConsoleReporter::Settings::Gnu::kEta
                             : ConsoleReporter::Settings::Gnu::kNone;
  // GNU parallel names this computer "local"; elsewhere the backend's name stands for it.
  const bool local = opts.backend == "local";
  cs.host = local ? "local" : opts.backend;
  cs.cores = local ? env.default_jobs : 0;
  cs.columns = TerminalColumns(env.err);
  ConsoleReporter console(cs, env.out, env.err);
  JobContext ctx{env.loop, env.clock,     env.backend,     &console,
                 env.stop, env.argv_line, env.default_jobs};
  Job job(opts, std::move(source), ctx);
  const int exit_status = job.Run();
  if (!opts.report.empty() && !job.id().empty()) {
    auto root = ResolveStateRoot(opts.state_dir);
    std::error_code ec;
    if (root.ok() && std::filesystem::is_directory(*root + "/jobs/" + job.id(), ec)) {
      Status st = env.write_report ? env.write_report(*root, job.id(), opts.report)
                                   : Status::Unavailable("--report is not available here");
      if (!st.ok()) {
        std::fprintf(env.err, "parallelagram run: no report: %s\n", st.message().c_str());
      } else if (!opts.quiet) {
        std::fprintf(env.err, "parallelagram run: report written to %s\n", opts.report.c_str());
      }
    }
  }
  return exit_status;
}

}  // namespace

}  // namespace parallelagram::driver
