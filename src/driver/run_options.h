// The command line of `parallelagram run`, parsed GNU parallel style:
//
//   parallelagram run [options] [--] COMMAND ARGS... ::: A B C [::: ...] [:::: FILE ...]
//
// Options come first; the first word that is not an option (or the word after `--`) starts
// the command, which runs to the first `:::` or `::::`. Every value is validated here, so a
// successful parse means the job can be set up; errors are one-line InvalidArgument
// messages saying what was wrong and what to do. Reading `::::` files happens here too (an
// unreadable file is a usage error). Thread-safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/halt_policy.h"
#include "driver/inputs.h"
#include "driver/speculation.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

struct RunOptions {
  std::vector<std::string> command;    // COMMAND ARGS... (templates)
  std::vector<InputSource> sources;    // in order
  bool link = false;                   // --link: pairwise instead of the cartesian product
  bool shell = false;                  // --shell: run the command line with /bin/sh -c
  std::vector<std::string> arg_files;  // -a/--arg-file FILE: sources before the ::: ones
  bool null_input = false;             // -0/--null: values in files and stdin end with NUL
  std::string delimiter;               // -d/--delimiter: the byte that ends a value instead
  // How inputs become a task's arguments (arg_shaping.h), as GNU parallel's options say.
  std::string colsep;        // --colsep/-C REGEX: split each input into columns {1} {2} ...
  bool colsep_set = false;   //   (given)
  std::string header;        // --header : | REGEX: each source's first line is a header
  bool header_set = false;   //   (given; "0": no header line)
  std::string trim;          // --trim n|l|r|lr|rl ("": the default, n; lr with --colsep)
  std::string eof;           // -E STRING: an input equal to it ends its source ("" none)
  int64_t max_args = 0;      // -n/--max-args or -N/--max-replace-args N: inputs per task
  bool max_replace = false;  //   -N: {1}..{N} and words repeated per input (context)
  bool multi_x = false;      // -X: as many inputs per task as fit, words repeated per input
  bool multi_m = false;      // -m: as many as fit, {} is all of them
  bool xargs = false;        // --xargs: as -m, without spreading over the job slots
  int64_t max_lines = 0;     // -L/--max-lines N: N input lines per task (implies -X)
  // --pipe / --pipe-part (driver/pipe_feed.h): blocks of the input, each a task's stdin. With
  // them -N/-n count records per block, -L lines per record, --header names what is repeated
  // before every block (":" the first line, N lines, or a regex).
  bool pipe = false;             // --pipe/--spreadstdin: stdin (or the one -a FILE) in blocks
  bool pipe_part = false;        // --pipe-part/--pipepart: the one -a FILE, split by byte ranges
  std::string pipe_input;        // what is split: "-" (stdin), a file or an s3:// URI
  int64_t block_size = 1 << 20;  // --block/--block-size (bytes; GNU parallel's 1M default)
  int64_t block_slices = 0;      // --pipe-part --block -K: K blocks per job slot
  bool block_set = false;        //   (--block given; --pipe-part's default is -10)
  std::string recstart, recend;  // --recstart / --recend
  bool recstart_set = false, recend_set = false;
  bool regexp = false;  // --regexp: --recstart/--recend are regular expressions

  int jobs = 0;             // -j; 0 = the default (number of cores)
  double timeout_s = 0;     // --timeout; 0 = none (the function's limit)
  int retries = 1;          // --retries: attempts per task in total (GNU parallel)
  bool keep_order = false;  // -k
  std::string results_dir;  // --results
  std::string joblog;       // --joblog
  std::string report;       // --report FILE.html: the job's report, written when it ends
  HaltPolicy halt;          // --halt
  SpeculateOptions speculate{.mode = SpeculateOptions::Mode::kAuto};  // --speculate
  bool dry_run = false;                                               // --dry-run
  bool json = false;                                                  // --json
  bool progress = false;  // --progress: plain progress lines even if not a TTY
  bool quiet = false;     // -q
  // How task output is printed while it runs (GNU parallel's options). On the local backend
  // --line-buffer prints whole lines as the task writes them (lines of different tasks may
  // interleave, never mix within a line) and -u/--ungroup raw bytes as they come; on AWS the
  // output arrives whole when each task ends (a notice says so).
  bool line_buffer = false;  // --line-buffer/--lb
  bool ungroup = false;      // -u/--ungroup
  // GNU parallel's status displays on stderr, instead of the progress line.
  bool eta = false;    // --eta: the computers header, then "ETA: ..s Left: N AVG: ..s  local:..."
  bool bar = false;    // --bar: "NN% DONE:LEFT=ETAs ARGS" as a reverse-video bar
  std::string job_id;  // --job-id ("" = generate)
  std::string state_dir;          // --state-dir: the state root ("" = XDG default)
  std::string backend = "local";  // --backend local|aws
  // The AWS backend (--backend aws). Empty function/bucket: the deployment record's.
  std::string mode = "sync";             // --mode sync|async: RequestResponse or Event invokes
  std::string function_name;             // --function
  std::string bucket;                    // --bucket
  std::string config;                    // --config: the deployment record ("" = XDG default)
  bool no_download = false;              // --no-download: outputs stay in S3, URIs in the manifest
  std::vector<std::string> bundle_exes;  // --bundle-exe: executables to ship with their libs
  std::vector<std::string> basefiles;    // --basefile/--bf
  std::vector<std::string> transferfiles;  // --transferfile/--tf (templates)
  std::vector<std::string> returns;        // --return (templates)
  bool cleanup = false;                    // --cleanup
  int64_t memory_mb = 1024;                // --memory: the function's MemorySize
  int64_t max_output_bytes = 0;            // --max-output: per stream per task; 0 = the default
  bool help = false;                       // --help: print help, run nothing
  // --max-cost USD: no invocation starts unless the money spent plus the worst case of all
  // in flight stays within it (driver/cost_meter.h); 0 = no budget. The one option a resume
  // may change (raise).
  double max_cost_usd = 0;
  // --env NAME / NAME=VALUE (as given; driver/task_env.h) and --env-secret.
  std::vector<std::string> env;
  bool env_secret = false;
  bool tag = false;       // --tag: each output line starts with the task's inputs and a TAB
  std::string tagstring;  // --tagstring STR: ... with STR (replacement strings expanded)
  bool files = false;     // --files: print each task's stdout file under --results
  double delay_s = 0;     // --delay SECONDS: at least this long between two task starts
  std::string prices;     // --prices FILE: the price table's overrides (driver/prices.h)
  // --resume JOB|last: finish an interrupted job (driver/resume.h). With it, ParseRunArgs
  // accepts no command and no inputs and checks nothing else: the options given are compared
  // with the recorded job's by ResumeOptions.
  std::string resume;
  // The option words as given (each option, then its value if any; --resume left out), in
  // order: recorded in job.json so that a resume parses them again.
  std::vector<std::string> option_args;
};

// What ends a one-line usage error of `run` (the options' parsers and checks share it).
inline constexpr const char* kRunHelpHint = "; see 'parallelagram run --help'";

// Parses argv[1..argc) of `parallelagram run`. Reads `::::` files (and stdin for `:::: -`).
Result<RunOptions> ParseRunArgs(const std::vector<std::string>& args);

// Validates a job id: 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
Status ValidateJobId(const std::string& id);

}  // namespace parallelagram::driver
