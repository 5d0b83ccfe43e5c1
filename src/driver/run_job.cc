#include "driver/run_job.h"

#include <nlohmann/json.hpp>

#include "driver/command_template.h"
#include "driver/console_reporter.h"
#include "driver/input_feed.h"
#include "driver/job_output.h"
#include "driver/job_record.h"
#include "driver/task_plan.h"

namespace parallelagram::driver {
namespace {

// `run`'s inputs as a job's TaskSource.
class FeedSource : public TaskSource {
 public:
  explicit FeedSource(std::unique_ptr<InputFeed> feed) : feed_(std::move(feed)) {}
  Next Pull(std::vector<std::string>* values) override {
    return static_cast<Next>(feed_->Pull(values));
  }
  void SetWake(std::function<void()> wake) override { *wake_ = std::move(wake); }
  int64_t known_total() const override { return feed_->known_total(); }
  void SetRecorder(std::function<void(const std::vector<std::string>&)> values,
                   std::function<void(int64_t)> end) override {
    feed_->SetRecorder(std::move(values), std::move(end));
  }
  Status error() const override { return feed_->error(); }
  // Set before the feed's reader starts: it calls through this.
  std::shared_ptr<std::function<void()>> wake_ = std::make_shared<std::function<void()>>();

 private:
  std::unique_ptr<InputFeed> feed_;
};

int Usage(RunEnv& env, const Status& s) {
  std::fprintf(env.err, "parallelagram run: %s\n", s.message().c_str());
  return kExitUsage;
}

}  // namespace

int RunJob(const RunOptions& o, RunEnv& env) {
  const int num_sources = static_cast<int>(o.sources.size());
  auto tmpl = CommandTemplate::Parse(o.command, num_sources, o.shell);
  if (!tmpl.ok()) return Usage(env, tmpl.status());
  const bool streams = !o.sources.empty() && !o.sources.back().stream_path.empty();
  if (!streams) {  // inputs known up front: every task's files checked before anything starts
    Status s = CheckTaskFiles({o.transferfiles, o.returns, num_sources}, o.sources, o.link);
    if (!s.ok()) return Usage(env, s);
  }
  auto wake = std::make_shared<std::function<void()>>();
  auto feed = InputFeed::Open(o.sources, o.link, [wake] {
    if (*wake) (*wake)();
  });
  if (!feed.ok()) return Usage(env, feed.status());

  if (o.dry_run) {  // the command lines, as the inputs arrive
    const int jobs = o.jobs > 0 ? o.jobs : std::max(1, env.default_jobs);
    std::vector<std::string> values;
    for (int64_t seq = 1; (*feed)->Pull(&values, true) == InputFeed::Next::kTask; ++seq) {
      TaskInputs in{seq, static_cast<int>((seq - 1) % jobs) + 1, values};
      std::string line = tmpl->Describe(in);
      if (o.json) {
        nlohmann::json j = {{"event", "task"},
                            {"seq", seq},
                            {"args", in.values},
                            {"command", line},
                            {"shell", o.shell}};
        j["argv"] = tmpl->Expand(in);
        line = JsonLine(j);
      }
      WriteAll(env.out, line + "\n");
      std::fflush(env.out);
    }
    return 0;
  }

  auto source = std::make_unique<FeedSource>(std::move(feed).value());
  source->wake_ = wake;
  ConsoleReporter console({{o.keep_order, o.json, o.quiet, o.halt.when == HaltPolicy::When::kNow},
                           o.progress,
                           env.err_is_tty},
                          env.out, env.err);
  JobContext ctx{env.loop, env.clock,     env.backend,     &console,
                 env.stop, env.argv_line, env.default_jobs};
  Job job(o, std::move(source), ctx);
  return job.Run();
}

}  // namespace parallelagram::driver
