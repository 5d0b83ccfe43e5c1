// parallelagram run: fan a command out over inputs (GNU parallel's conventions).
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "aws/aws_config.h"
#include "cli/commands.h"
#include "cli/signal_stop.h"
#include "common/clock.h"
#include "common/json_text.h"
#include "driver/aws_backend.h"
#include "driver/command_template.h"
#include "driver/io_loop_driver.h"
#include "driver/job_observer.h"
#include "driver/local_backend.h"
#include "driver/resume.h"
#include "driver/run_job.h"
#include "driver/run_options.h"
#include "driver/s3_object_store.h"
#include "http/io_loop.h"
#include "report/report_html.h"

namespace parallelagram::cli {
namespace {

constexpr const char* kHelp =
    R"(usage: parallelagram run [options] [--] COMMAND [ARGS...] ::: INPUTS... [::: INPUTS...] [:::: FILE...]

Runs COMMAND once per input, many at a time, and prints each task's output whole when it
finishes. Tasks run on the embedded local Lambda (no AWS account needed), each in its own
scratch directory, with the real Lambda worker. The conventions are GNU parallel's.

Inputs
  ::: A B C          the inputs, one task each
  :::: FILE          inputs from FILE, one per line ('-' reads stdin); with no ::: or ::::
                     the inputs are read from stdin. The last source is read as the job
                     runs: a task starts as soon as its input line arrives
  -a, --arg-file FILE  as :::: FILE, before the ::: sources (repeatable)
  -0, --null         inputs in files and stdin end with a NUL byte, not a newline
  -d, --delimiter C  inputs in files and stdin end with C (one character, or \n, \t, \0,
                     \xHH)
  several sources    every combination (cartesian product), or pairwise with --link
  -E STRING          an input equal to STRING ends its source (the rest is not read)
  --colsep, -C REGEX split each input into columns {1} {2} ... (ECMAScript regex; columns
                     of several sources are numbered on; without replacement strings they
                     are appended as separate arguments); implies --trim lr
  --header :|REGEX   the first line of each source is a header, not an input: {NAME} is
                     the column it names (split at --colsep, else at TABs); without
                     --colsep a source's header line names it. The sources are read whole
                     first (GNU parallel, outside --pipe, takes the first line whatever
                     REGEX says; '--header 0': no header line)
  --trim n|l|r|lr|rl remove whitespace from each input's (column's) left/right end
Several inputs per task ({#} counts tasks; every input is in exactly one task)
  -n, --max-args N   N inputs per task (the last may have fewer); {} is all of them,
                     each its own argument; {1} ... {N} by position ({3} of a 2-input
                     task is empty: no argument)
  -N, --max-replace-args N  as -n, and a word holding {} is repeated per input (-X)
  -X                 as many inputs per task as fit in a 127 KiB command line, a word
                     holding {} repeated per input (pre{}post -> prea post... preb post);
                     when the inputs fit, spread them over the -j slots as GNU parallel
                     does (ceil(inputs / -j) per task)
  -m                 as -X, but {} is all the inputs (pre{}post -> prea b cpost)
  --xargs            as -m, without spreading over the slots
  -L, --max-lines N  N input lines per task, a line ending in whitespace continuing on
                     the next (implies -X unless -m or --xargs)
  -N/-n/-L 0 (GNU: read one input, insert none) are refused
One input in blocks, each block a task's stdin (the blocks are GNU parallel's)
  --pipe             cut stdin (or the one -a FILE) into blocks at record boundaries
  --pipe-part        cut the one -a FILE (a local file or s3://BUCKET/KEY) by byte ranges,
                     reading only around each split point; each worker reads its own range
  --block SIZE       block size (default 1M; K M G = 1024^n, k m g = 1000^n); on Lambda
                     blocks of tens of MB make better use of an invocation. A record longer
                     than the block grows it. --pipe-part --block -K: K blocks per slot
  --recend STR       what ends a record (default '\n'); --recstart STR what starts one
                     (a split falls where recend is followed by recstart; \n \t \0 work)
  --regexp           --recstart/--recend are regular expressions (ECMAScript)
  -N R / -L L        --pipe: R records per block / records of L lines
  --header : | N | REGEX   the first line (N lines, what REGEX matches) goes before every block
  Blocks travel through the object store, not the event (no 6 MB limit); {} is empty and
  {#} is the block's number. --resume splits a --pipe-part file again (refused if its
  size changed); a --pipe job cannot be resumed (stdin was read once).
Replacement strings (in COMMAND and ARGS; {= perl =} is refused: no Perl runs in a task)
  {}   the input               {.}  without extension      {/}  basename
  {//} directory               {/.} basename without extension
  {#}  task number (1..N)      {%}  job slot (1..-j)
  {1} {2} ...  input of source 1, 2 ...; also {1.} {1/} {1//} {1/.}
  With no replacement string the inputs are appended as the last arguments.
  Without --shell each word of COMMAND ARGS is one argument: inputs are never split, and
  quotes, $, *, > mean nothing. With --shell, COMMAND ARGS form one /bin/sh command line
  and every input is quoted so the shell sees it as one word.

Options
  -j, --jobs N         tasks at a time (default: the number of cores)
  --timeout SECONDS    kill a task after this long (it counts as failed, timed out)
  --delay SECONDS      at least this long between two task starts (retries included)
  --retries N          run a failed task up to N times in all (default 1); throttled
                       (429) and transport-failed invokes are retried with back-off
                       without counting
  --speculate WHEN     duplicate a straggling task once; the first finisher wins:
                       'auto' (default: past 3x the median task time, at least 5 s, once
                       20 tasks or half the job succeeded), 'off', or SECONDS
  -k, --keep-order     print outputs in input order (default: as tasks finish)
  --tag                start each line a task prints (stdout and stderr) with its inputs and
                       a TAB; --tagstring STR with STR instead ({} {#} {1} ... expanded)
  --line-buffer, --lb  print each task's output as it runs, a whole line at a time (lines of
                       different tasks interleave, never mix within a line); with -k only the
                       first unfinished task prints live, the others when their turn comes
  -u, --ungroup        print each task's output as it runs, bytes as they come (-k ignored).
                       Both on the local backend; on AWS output arrives whole when each task
                       ends (said on stderr). Either turns --speculate off
  --files              print the path of each task's stdout file (under --results DIR,
                       which it needs) instead of its output
  --results DIR        keep DIR/<task#>/{stdout,stderr,result.json} and DIR/results.jsonl
                       (one JSON line per task, appended as each finishes)
  --report FILE.html   when the job ends, write its report (timeline, concurrency, cost;
                       'parallelagram report --help')
  --joblog FILE        GNU parallel's job log: Seq Host Starttime JobRuntime Send Receive
                       Exitval Signal Command
  --halt WHEN,fail=N   stop after N failed tasks (or N%); WHEN is 'now' (abandon running
                       tasks) or 'soon' (let them finish); success=N stops after successes
  --dry-run            print the tasks' command lines, run nothing
  --json               machine-readable events on stdout, one JSON object per line
                       (job, start, retry, finish with the task's output, halt, done)
  --progress           when stderr is not a terminal, a progress line every second and
                       a final one (default: a plain line every 5 s, so short jobs print
                       none); on a terminal a live status line is always shown unless -q
  --eta                GNU parallel's ETA display on stderr instead of the progress line: a
                       header, then 'ETA: 4s Left: 3 AVG: 0.50s  local:2/2/100%/0.5s'
  --bar                GNU parallel's progress bar on stderr: 'NN% DONE:LEFT=ETA ARGS'
  -q, --quiet          no progress, no warnings
  --shell              run COMMAND ARGS as one shell command line (pipes, >, $VAR, ...)
  --env NAME           copy NAME from here into every task's environment (read at each run,
                       never recorded); --env NAME=VALUE sets one. Nothing else of this
                       environment reaches a task. AWS secrets are refused unless
                       --env-secret (and then only as --env NAME)
  --link               pair the sources (1st with 1st, ...) instead of all combinations
  --basefile, --bf PATH        ship a file or directory once to every worker
  --transferfile, --tf FILE    ship a per-task input file, usually {}
  --return FILE        bring back a file the task made (to FILE here, or under --results)
  --cleanup            remove shipped per-task files from the store when done
  --job-id ID          name the job (default: generated, e.g. 20261125-194233-7f3a)
  --state-dir DIR      where jobs are recorded (default $XDG_STATE_HOME/parallelagram,
                       i.e. ~/.local/state/parallelagram; with neither XDG_STATE_HOME nor
                       HOME set, as inside Lambda, $TMPDIR (else /tmp)/parallelagram-UID,
                       said on stderr); see 'parallelagram jobs'
  --resume JOB|last    finish an interrupted job (killed, cancelled, crashed) under its own
                       id, with the command, inputs and options it recorded (give no command
                       or inputs; other options must match the recorded ones; -q and
                       --progress may change). Tasks whose result was recorded are not run
                       again and their output is not printed again: only the newly finished
                       tasks' output is. In async mode the results workers wrote meanwhile
                       are collected first. The exit status covers the whole job. A finished
                       job is reported and nothing runs (exit 0); a job whose driver is still
                       running is refused.
  --memory MB          the function's memory (default 1024)
  --max-output BYTES   keep at most this much stdout/stderr per task (default 1 GiB)
  --max-cost USD       a budget: an invocation (first attempt, retry or duplicate) starts only
                       if the money spent plus the worst case of every invocation in flight
                       (memory x timeout, plus the 10 s init limit) stays within USD. At the
                       cap running tasks finish and the job ends (exit 102) saying what it
                       spent and how many tasks did not start; `--resume JOB --max-cost MORE`
                       continues (the one option a resume may change, upwards). Costs are
                       Lambda's REPORT lines (sync) or the workers' own measure (async,
                       marked as an estimate); on the local backend, what Lambda would charge
  --prices FILE        prices for another region or a negotiated rate (docs/cost.md); default
                       $PARALLELAGRAM_PRICES, else $XDG_CONFIG_HOME/parallelagram/prices.json,
                       else the built-in us-east-1 table (`parallelagram doctor` prints it)
  --backend local|aws  where tasks run: the embedded local Lambda (default), or the Lambda
                       function `parallelagram deploy` set up (see below)
  --mode sync|async    sync (default): one RequestResponse invocation per task, the result
                       in its response; async: Event invocations, each worker writes its
                       result to the store, collected by listing (no connection held open)

On AWS (--backend aws)
  --function NAME      the Lambda function: picks one of the deployments `parallelagram
                       deploy` recorded (needed when there are several; `parallelagram
                       doctor` lists them); default $PARALLELAGRAM_FUNCTION, else the only one
  --bucket BUCKET      the S3 bucket for staged files and results (default
                       $PARALLELAGRAM_BUCKET, else the deployment's). With both (flags or
                       variables) no deployment record is needed, e.g. inside Lambda
  --config FILE        a deployment record file given to `deploy --config` (default: the
                       records in $XDG_CONFIG_HOME/parallelagram/deployments/)
  --no-download        leave --return files and large outputs in S3; the manifest holds
                       their s3:// URIs
  --bundle-exe PATH    ship this local executable with its shared libraries (a command
                       whose program is a relative path such as ./tool is bundled anyway)
  At most the function's reserved concurrency tasks run at once, whatever -j says.
  Inputs already in S3 can be given as s3://BUCKET/KEY (with --transferfile): not copied.

Files: paths for --basefile/--transferfile/--return are relative to the current directory;
the task finds them at the same relative path in its scratch directory.

Exit status: 0 if every task succeeded, else the number of failed tasks (at most 101);
255 for a usage or setup error (nothing is started then); 130 after Ctrl-C, 143 after
SIGTERM (which `parallelagram cancel JOB` sends); 102 when --max-cost stopped the job.
--dry-run also prints (on stderr) the job's worst-case cost and, when an earlier job ran the
same command, an estimate from its median billed duration.

Ctrl-C once: no new tasks start and running ones are waited for; Ctrl-C again (or SIGTERM)
abandons them. The manifest keeps every task that finished, each once.

Examples
  parallelagram run -- echo hello ::: alice bob               # echo hello alice; ...
  parallelagram run -k -- gzip -k ::: *.log                   # compress logs, in order
  parallelagram run -- convert {} {.}.png ::: *.jpg           # {.}: input minus extension
  parallelagram run -- echo {1} {2} ::: a b ::: 1 2           # a 1, a 2, b 1, b 2
  parallelagram run --link -- echo {1}={2} ::: a b ::: 1 2    # a=1, b=2
  parallelagram run --shell -- 'grep -c ERROR {} > {/}.count' ::: logs/*.txt
  parallelagram run --tf {} --return {}.wc --shell -- 'wc -l {} > {}.wc' ::: data/*.csv
  find . -name '*.txt' | parallelagram run -j 8 --results out -- wc -w
  parallelagram run --dry-run -- echo {#} {} ::: a b
  parallelagram run --colsep , -- echo {2} {1} ::: a,1 b,2          # 1 a, 2 b
  parallelagram run --header : --colsep , -- echo {name} :::: people.csv
  parallelagram run -N 2 -- echo {1}+{2} ::: 1 2 3 4                # 1+2, 3+4
  parallelagram run -j 1 -m -- tar czf all.tgz ::: *.log             # one task, every file
)";

// The cores this process may run on (its CPU affinity, as nproc counts them).
int UsableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

int RunMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = driver::ParseRunArgs(args);
  if (!opts.ok()) {
    std::fprintf(stderr, "parallelagram run: %s\n", opts.status().message().c_str());
    return kExitUsage;
  }
  if (opts->help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (!opts->resume.empty()) {
    auto plan = driver::PrepareResume(*opts);
    if (!plan.ok()) {
      std::fprintf(stderr, "parallelagram run: %s\n", plan.status().message().c_str());
      return kExitUsage;
    }
    if (plan->finished) {
      std::fprintf(stderr, "parallelagram run: %s\n", plan->message.c_str());
      return 0;
    }
    // Relative paths (--transferfile, --return, --results, ...) are the first run's.
    const std::string cwd =
        plan->info.contains("cwd") ? BytesFromJson(plan->info["cwd"]).value_or("") : "";
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      std::fprintf(stderr,
                   "parallelagram run: job %s ran in %s, which is gone; it cannot be resumed\n",
                   plan->job_id.c_str(), cwd.c_str());
      return kExitUsage;
    }
    opts = std::move(plan->options);
  }
  if (opts->shell && !opts->quiet) {
    std::string warning = driver::QuotedReplacementWarning(opts->command);
    if (!warning.empty()) std::fprintf(stderr, "parallelagram run: %s\n", warning.c_str());
  }
  std::string line = "parallelagram";
  for (int i = 0; i < argc; ++i) {
    line += ' ';
    line += driver::ShellQuote(i == 0 ? "run" : argv[i]);
  }
  RaiseFileDescriptorLimit();
  driver::StopRequest stop;
  SignalStop signals(stop);  // Ctrl-C: drain, then abandon; SIGTERM: abandon
  IoLoop loop;
  driver::IoLoopDriver loop_driver(loop);
  driver::RunEnv env;
  env.out = stdout;
  env.err = stderr;
  env.err_is_tty = isatty(2) == 1;
  env.loop = &loop_driver;
  env.clock = &SystemClock::Get();
  env.argv_line = line;
  env.default_jobs = UsableCores();
  env.stop = &stop;
  const bool aws = opts->backend == "aws";
  env.backend = [&loop, aws](const driver::BackendConfig& cfg) {
    if (aws) return driver::StartAwsBackend(loop, cfg, aws::Environment::FromProcess());
    return driver::StartLocalBackend(loop, cfg);
  };
  env.open_s3 = [](const std::string& bucket) -> Result<std::unique_ptr<driver::ObjectStore>> {
    auto store = driver::S3ObjectStore::Open(aws::Environment::FromProcess(), bucket, "");
    if (!store.ok()) return store.status();
    return std::unique_ptr<driver::ObjectStore>(std::move(store).value());
  };
  env.write_report = [](const std::string& root, const std::string& job_id,
                        const std::string& path) {
    return report::WriteReport(root, job_id, path);
  };
  return driver::RunJob(*opts, env);
}

}  // namespace parallelagram::cli
