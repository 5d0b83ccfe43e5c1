#include "driver/run_options.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "common/json_text.h"
#include "driver/arg_shaping.h"
#include "driver/block_splitter.h"
#include "driver/pipe_options.h"
#include "driver/task_env.h"

namespace parallelagram::driver {
namespace {

const char* kHint = kRunHelpHint;

bool IsSeparator(const std::string& w) { return w == ":::" || w == "::::"; }

Result<int64_t> ParseInt(const std::string& opt, const std::string& v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    return Status::InvalidArgument(opt + " needs a whole number from " + std::to_string(lo) +
                                   " to " + std::to_string(hi) + ", not '" + v + "'" + kHint);
  }
  return static_cast<int64_t>(x);
}

Result<double> ParseSeconds(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x) || x <= 0 || x > 900) {
    return Status::InvalidArgument(opt +
                                   " needs seconds, more than 0 and at most 900 (Lambda's "
                                   "limit), not '" +
                                   v + "'" + kHint);
  }
  return x;
}

// -d's value: one byte, or a C escape for one (\n, \t, \0, \\, \xHH, \NNN octal).
Result<char> ParseDelimiter(const std::string& opt, const std::string& v) {
  auto bad = [&]() -> Result<char> {
    return Status::InvalidArgument(opt +
                                   " takes one character (or an escape for one: \\n, \\t, "
                                   "\\0, \\xHH), not '" +
                                   EscapeForMessage(v) + "'" + kHint);
  };
  if (v.size() == 1) return v[0];
  if (v.size() < 2 || v[0] != '\\') return bad();
  static const std::map<char, char> simple = {{'n', '\n'}, {'t', '\t'}, {'r', '\r'}, {'\\', '\\'},
                                              {'a', '\a'}, {'v', '\v'}, {'f', '\f'}, {'b', '\b'}};
  if (v.size() == 2) {
    if (auto it = simple.find(v[1]); it != simple.end()) return it->second;
  }
  char* end = nullptr;
  long x = v[1] == 'x' ? std::strtol(v.c_str() + 2, &end, 16) : std::strtol(v.c_str() + 1, &end, 8);
  if (end == nullptr || *end != '\0' || end == v.c_str() + (v[1] == 'x' ? 2 : 1) || x < 0 ||
      x > 255) {
    return bad();
  }
  return static_cast<char>(x);
}

// --max-cost USD: a positive amount of US dollars ("0.50", "$2", "1e-3").
Result<double> ParseUsd(const std::string& opt, const std::string& v) {
  std::string text = !v.empty() && v[0] == '$' ? v.substr(1) : v;
  char* end = nullptr;
  errno = 0;
  double x = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || errno != 0 || !std::isfinite(x) || x <= 0) {
    return Status::InvalidArgument(opt + " takes an amount of US dollars greater than 0, like " +
                                   opt + " 2.50; got '" + EscapeForMessage(v) + "'" + kHint);
  }
  return x;
}

// -N/-n/-L: how many inputs per task. GNU parallel's 0 ("read one, insert none") is refused.
Result<int64_t> ParseCount(const std::string& long_opt, const std::string& v) {
  const std::string opt = long_opt == "--max-replace-args" ? "-N/--max-replace-args"
                          : long_opt == "--max-args"       ? "-n/--max-args"
                          : long_opt == "--max-lines"      ? "-L/--max-lines"
                                                           : long_opt;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < 1 || x > 1000000) {
    return Status::InvalidArgument(opt +
                                   " needs a whole number of inputs per task from 1 to "
                                   "1000000, not '" +
                                   EscapeForMessage(v) + "'" + kHint);
  }
  return static_cast<int64_t>(x);
}

}  // namespace

Status ValidateJobId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64 && id[0] != '.' && id[0] != '-';
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      ok = false;
    }
  }
  if (ok) return Status::Ok();
  return Status::InvalidArgument("job id '" + EscapeForMessage(id) +
                                 "' is not valid; use 1-64 letters, digits, '.', '_' or '-' "
                                 "(not starting with '.' or '-')");
}

Result<RunOptions> ParseRunArgs(const std::vector<std::string>& args) {
  RunOptions o;
  size_t i = 0;
  using Setter = std::function<Status(const std::string& opt, const std::string& value)>;
  // Options that take a value.
  std::map<std::string, Setter> valued = {
      {"--jobs",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(int64_t n, ParseInt(opt, v, 1, 100000));
         o.jobs = static_cast<int>(n);
         return Status::Ok();
       }},
      {"--timeout",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.timeout_s, ParseSeconds(opt, v));
         return Status::Ok();
       }},
      {"--retries",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(int64_t n, ParseInt(opt, v, 0, 100));
         o.retries = n == 0 ? 1 : static_cast<int>(n);
         return Status::Ok();
       }},
      {"--results",
       [&](const std::string&, const std::string& v) {
         o.results_dir = v;
         return Status::Ok();
       }},
      {"--joblog",
       [&](const std::string&, const std::string& v) {
         o.joblog = v;
         return Status::Ok();
       }},
      {"--report",
       [&](const std::string&, const std::string& v) {
         o.report = v;
         return Status::Ok();
       }},
      {"--halt",
       [&](const std::string&, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.halt, HaltPolicy::Parse(v));
         return Status::Ok();
       }},
      {"--speculate",
       [&](const std::string&, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.speculate, SpeculateOptions::Parse(v));
         return Status::Ok();
       }},
      {"--job-id",
       [&](const std::string&, const std::string& v) {
         PG_RETURN_IF_ERROR(ValidateJobId(v));
         o.job_id = v;
         return Status::Ok();
       }},
      {"--state-dir",
       [&](const std::string&, const std::string& v) {
         o.state_dir = v;
         return Status::Ok();
       }},
      {"--resume",
       [&](const std::string&, const std::string& v) {
         if (v != "last") PG_RETURN_IF_ERROR(ValidateJobId(v));
         o.resume = v;
         return Status::Ok();
       }},
      {"--backend",
       [&](const std::string& opt, const std::string& v) {
         if (v != "local" && v != "aws") {
           return Status::InvalidArgument(opt + " must be 'local' or 'aws', not '" + v + "'");
         }
         o.backend = v;
         return Status::Ok();
       }},
      {"--mode",
       [&](const std::string& opt, const std::string& v) {
         if (v != "sync" && v != "async") {
           return Status::InvalidArgument(opt +
                                          " must be 'sync' (RequestResponse) or 'async' "
                                          "(Event invocations, results collected from S3), not '" +
                                          v + "'");
         }
         o.mode = v;
         return Status::Ok();
       }},
      {"--function",
       [&](const std::string&, const std::string& v) {
         o.function_name = v;
         return Status::Ok();
       }},
      {"--bucket",
       [&](const std::string&, const std::string& v) {
         o.bucket = v;
         return Status::Ok();
       }},
      {"--config",
       [&](const std::string&, const std::string& v) {
         o.config = v;
         return Status::Ok();
       }},
      {"--arg-file",
       [&](const std::string&, const std::string& v) {
         o.arg_files.push_back(v);
         return Status::Ok();
       }},
      {"--delimiter",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(char c, ParseDelimiter(opt, v));
         o.delimiter.assign(1, c);
         return Status::Ok();
       }},
      {"--colsep",
       [&](const std::string& opt, const std::string& v) {
         PG_RETURN_IF_ERROR(CheckRegex(opt, v));
         o.colsep = v;
         o.colsep_set = true;
         return Status::Ok();
       }},
      {"--header",
       [&](const std::string& opt, const std::string& v) {
         if (v != ":") PG_RETURN_IF_ERROR(CheckRegex(opt, v));
         o.header = v;
         o.header_set = true;
         return Status::Ok();
       }},
      {"--trim",
       [&](const std::string& opt, const std::string& v) {
         if (v != "n" && v != "l" && v != "r" && v != "lr" && v != "rl") {
           return Status::InvalidArgument(opt +
                                          " must be n, l, r, lr or rl (whitespace to trim "
                                          "from each input: none, left, right, both), "
                                          "not '" +
                                          EscapeForMessage(v) + "'" + kHint);
         }
         o.trim = v;
         return Status::Ok();
       }},
      {"-E",
       [&](const std::string&, const std::string& v) {
         o.eof = v;
         return Status::Ok();
       }},
      {"--max-args",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.max_args, ParseCount(opt, v));
         o.max_replace = false;
         return Status::Ok();
       }},
      {"--max-replace-args",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.max_args, ParseCount(opt, v));
         o.max_replace = true;
         return Status::Ok();
       }},
      {"--max-lines",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.max_lines, ParseCount(opt, v));
         return Status::Ok();
       }},
      {"--bundle-exe",
       [&](const std::string&, const std::string& v) {
         o.bundle_exes.push_back(v);
         return Status::Ok();
       }},
      {"--basefile",
       [&](const std::string&, const std::string& v) {
         o.basefiles.push_back(v);
         return Status::Ok();
       }},
      {"--transferfile",
       [&](const std::string&, const std::string& v) {
         o.transferfiles.push_back(v);
         return Status::Ok();
       }},
      {"--return",
       [&](const std::string&, const std::string& v) {
         o.returns.push_back(v);
         return Status::Ok();
       }},
      {"--memory",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.memory_mb, ParseInt(opt, v, 128, 10240));
         return Status::Ok();
       }},
      {"--max-output",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.max_output_bytes, ParseInt(opt, v, 1, int64_t{1} << 32));
         return Status::Ok();
       }},
      {"--max-cost",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(o.max_cost_usd, ParseUsd(opt, v));
         return Status::Ok();
       }},
      {"--env",
       [&](const std::string&, const std::string& v) {
         PG_RETURN_IF_ERROR(CheckEnvOption(v));
         o.env.push_back(v);
         return Status::Ok();
       }},
      {"--delay",
       [&](const std::string& opt, const std::string& v) {
         char* end = nullptr;
         const double x = std::strtod(v.c_str(), &end);
         if (v.empty() || *end != '\0' || !std::isfinite(x) || x < 0 || x > 3600) {
           return Status::InvalidArgument(opt + " takes the seconds between two task starts, " +
                                          "from 0 to 3600 (like --delay 0.5); got '" +
                                          EscapeForMessage(v) + "'" + kHint);
         }
         o.delay_s = x;
         return Status::Ok();
       }},
      {"--tagstring",
       [&](const std::string&, const std::string& v) {
         o.tagstring = v;
         return Status::Ok();
       }},
      {"--prices",
       [&](const std::string&, const std::string& v) {
         o.prices = v;
         return Status::Ok();
       }},
      {"--block",
       [&](const std::string& opt, const std::string& v) {
         PG_ASSIGN_OR_RETURN(int64_t b, ParseSize(v, opt, INT64_MIN));
         if (b == 0) {
           return Status::InvalidArgument(opt + " 0 makes no block: give a size such as 10M" +
                                          std::string(kHint));
         }
         o.block_slices = b < 0 ? -b : 0;
         o.block_set = true;
         o.block_size = b < 0 ? 1 : b;
         return Status::Ok();
       }},
      {"--recstart",
       [&](const std::string&, const std::string& v) {
         o.recstart = v;
         o.recstart_set = true;
         return Status::Ok();
       }},
      {"--recend",
       [&](const std::string&, const std::string& v) {
         o.recend = v;
         o.recend_set = true;
         return Status::Ok();
       }},
  };
  std::map<std::string, std::string> aliases = {{"-j", "--jobs"},
                                                {"-P", "--jobs"},
                                                {"--bf", "--basefile"},
                                                {"--tf", "--transferfile"},
                                                {"-k", "--keep-order"},
                                                {"-q", "--quiet"},
                                                {"-h", "--help"},
                                                {"-a", "--arg-file"},
                                                {"-0", "--null"},
                                                {"-d", "--delimiter"},
                                                {"-C", "--colsep"},
                                                {"--col-sep", "--colsep"},
                                                {"-n", "--max-args"},
                                                {"-N", "--max-replace-args"},
                                                {"-L", "--max-lines"},
                                                {"-m", "--multi-m"},
                                                {"-X", "--multi-x"},
                                                {"--block-size", "--block"},
                                                {"--spreadstdin", "--pipe"},
                                                {"--pipepart", "--pipe-part"},
                                                {"--lb", "--line-buffer"},
                                                {"-u", "--ungroup"}};
  std::map<std::string, bool*> flags = {{"--keep-order", &o.keep_order},
                                        {"--dry-run", &o.dry_run},
                                        {"--json", &o.json},
                                        {"--progress", &o.progress},
                                        {"--quiet", &o.quiet},
                                        {"--shell", &o.shell},
                                        {"--link", &o.link},
                                        {"--cleanup", &o.cleanup},
                                        {"--help", &o.help},
                                        {"--xapply", &o.link},
                                        {"--no-download", &o.no_download},
                                        {"--null", &o.null_input},
                                        {"--env-secret", &o.env_secret},
                                        {"--tag", &o.tag},
                                        {"--files", &o.files},
                                        {"--multi-m", &o.multi_m},
                                        {"--multi-x", &o.multi_x},
                                        {"--xargs", &o.xargs},
                                        {"--pipe", &o.pipe},
                                        {"--pipe-part", &o.pipe_part},
                                        {"--regexp", &o.regexp},

                                        {"--line-buffer", &o.line_buffer},
                                        {"--ungroup", &o.ungroup},
                                        {"--eta", &o.eta},
                                        {"--bar", &o.bar}};

  // 1. Options.
  for (; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;
    if (IsSeparator(a)) break;
    std::string value;
    bool has_value = false;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    } else if (a.size() > 2 && a[1] != '-' &&
               std::string("jPNnLE").find(a[1]) != std::string::npos) {
      value = a.substr(2);  // -j4, -N2
      a = a.substr(0, 2);
      has_value = true;
    }
    if (auto al = aliases.find(a); al != aliases.end()) a = al->second;
    if (auto f = flags.find(a); f != flags.end()) {
      if (has_value) {
        return Status::InvalidArgument("option " + a + " takes no value" + std::string(kHint));
      }
      *f->second = true;
      o.option_args.push_back(a);
      continue;
    }
    auto v = valued.find(a);
    if (v == valued.end()) {
      return Status::InvalidArgument("unknown option '" + args[i] +
                                     "'; put the command after '--' if it starts with '-'" + kHint);
    }
    if (!has_value) {
      if (i + 1 >= args.size() || IsSeparator(args[i + 1])) {
        return Status::InvalidArgument("option " + a + " needs a value" + std::string(kHint));
      }
      value = args[++i];
    }
    PG_RETURN_IF_ERROR(v->second(a, value));
    if (a != "--resume") {
      o.option_args.push_back(a);
      o.option_args.push_back(value);
    }
  }
  if (o.help) return o;

  // 2. The command, up to the first separator.
  for (; i < args.size() && !IsSeparator(args[i]); ++i) o.command.push_back(args[i]);
  for (const std::string& w : o.command) {
    const size_t open = w.find("{=");
    if (open != std::string::npos && w.find("=}", open + 2) != std::string::npos) {
      return Status::InvalidArgument(
          "'" + EscapeForMessage(w) +
          "': Perl expressions {= ... =} are not supported (there is no Perl in a task); "
          "compute the value with --shell and the shell instead" +
          std::string(kHint));
    }
  }

  // 3. Input sources.
  while (i < args.size()) {
    std::string sep = args[i++];
    size_t start = i;
    while (i < args.size() && !IsSeparator(args[i])) ++i;
    if (sep == ":::") {
      if (i == start) {
        return Status::InvalidArgument(
            "':::' must be followed by at least one input, e.g. '::: a.txt b.txt'" +
            std::string(kHint));
      }
      InputSource s;
      s.origin = "::: source " + std::to_string(o.sources.size() + 1);
      s.values.assign(args.begin() + static_cast<long>(start), args.begin() + static_cast<long>(i));
      o.sources.push_back(std::move(s));
    } else {
      if (i == start) {
        return Status::InvalidArgument(
            "'::::' must be followed by a file of inputs, one per line ('-' for stdin)" +
            std::string(kHint));
      }
      for (size_t k = start; k < i; ++k) {
        InputSource s;
        s.origin = args[k] == "-" ? "stdin" : args[k];
        s.stream_path = args[k];
        o.sources.push_back(std::move(s));
      }
    }
  }
  // -a FILE sources come first, as in GNU parallel; every file or stdin source splits its
  // values at -0/-d's byte, else at newlines.
  if (!o.arg_files.empty()) {
    std::vector<InputSource> files;
    for (const std::string& f : o.arg_files) {
      InputSource s;
      s.origin = f == "-" ? "stdin" : f;
      s.stream_path = f;
      files.push_back(std::move(s));
    }
    o.sources.insert(o.sources.begin(), std::make_move_iterator(files.begin()),
                     std::make_move_iterator(files.end()));
  }
  if (o.null_input && !o.delimiter.empty() && o.delimiter[0] != '\0') {
    return Status::InvalidArgument(
        "-0 and -d say different things about what ends an input; "
        "pick one");
  }
  const char delimiter = o.null_input ? '\0' : o.delimiter.empty() ? '\n' : o.delimiter[0];
  for (InputSource& s : o.sources) s.delimiter = delimiter;
  if (o.resume.empty()) PG_RETURN_IF_ERROR(CheckPipeOptions(o));
  // Every `::::` source but the last is read now; the last one streams as the job runs (its
  // first task starts when its first line is read), so only check that it can be read. With
  // --header every source is read now: its header names the replacement strings.
  const bool header_line = o.header_set && o.header != "0";
  for (size_t k = 0; k < o.sources.size(); ++k) {
    InputSource& s = o.sources[k];
    if (s.stream_path.empty() || o.pipe) continue;
    if (k + 1 < o.sources.size() || header_line) {
      PG_ASSIGN_OR_RETURN(InputSource whole, ReadInputFile(s.stream_path, s.delimiter));
      s = std::move(whole);
    } else if (s.stream_path != "-") {
      PG_RETURN_IF_ERROR(CheckInputFile(s.stream_path));
    }
  }

  if (!o.resume.empty()) {
    if (!o.command.empty() || !o.sources.empty()) {
      return Status::InvalidArgument("--resume takes no command or inputs: job '" + o.resume +
                                     "' reruns the ones recorded when it started; drop them");
    }
    if (o.dry_run) {
      return Status::InvalidArgument("--resume and --dry-run contradict each other; pick one");
    }
    return o;  // the rest is checked against the recorded job (driver/resume.h)
  }
  if (o.command.empty()) {
    return Status::InvalidArgument(
        "no command given; write it after the options, e.g. 'parallelagram run -- gzip -k ::: "
        "a.txt b.txt'" +
        std::string(kHint));
  }
  if (o.sources.empty() && !o.pipe) {
    if (isatty(0)) {
      return Status::InvalidArgument(
          "no inputs: give them after ':::' (e.g. '::: a b c') or in a file with ':::: FILE'" +
          std::string(kHint));
    }
    InputSource s;
    s.origin = "stdin";
    s.stream_path = "-";  // streamed as the job runs
    s.delimiter = delimiter;
    if (header_line) {  // read whole, as the sources above
      PG_ASSIGN_OR_RETURN(s, ReadInputFile("-", delimiter));
    }
    o.sources.push_back(std::move(s));
  }

  // 4. Conflicts.
  if (o.quiet && o.progress) {
    return Status::InvalidArgument("--quiet and --progress contradict each other; pick one");
  }
  if (o.quiet && (o.eta || o.bar)) {
    return Status::InvalidArgument(std::string(o.eta ? "--eta" : "--bar") +
                                   " and --quiet contradict each other; pick one");
  }
  if (o.line_buffer && o.ungroup) {
    return Status::InvalidArgument(
        "--line-buffer prints whole lines and -u/--ungroup raw bytes as they come; pick one");
  }
  if ((o.line_buffer || o.ungroup) && (o.json || o.files)) {
    return Status::InvalidArgument(std::string(o.line_buffer ? "--line-buffer" : "-u/--ungroup") +
                                   " prints output as tasks write it, but " +
                                   (o.json ? "--json" : "--files") +
                                   " prints each task's result when it ends; pick one");
  }
  if (o.files && o.results_dir.empty()) {
    return Status::InvalidArgument(
        "--files prints the path of each task's stdout file under --results DIR; add "
        "--results DIR");
  }
  if (o.files && o.json) {
    return Status::InvalidArgument(
        "--files and --json both say what stdout carries; pick one (--json's finish events "
        "name the files)");
  }
  if (o.cleanup && o.transferfiles.empty() && o.returns.empty()) {
    return Status::InvalidArgument(
        "--cleanup removes --transferfile and --return files after each task; give one of "
        "those, or drop --cleanup");
  }
  if (o.backend != "aws") {
    const char* aws_only = !o.function_name.empty() ? "--function"
                           : !o.bucket.empty()      ? "--bucket"
                           : !o.config.empty()      ? "--config"
                           : o.no_download          ? "--no-download"
                           : !o.bundle_exes.empty() ? "--bundle-exe"
                                                    : nullptr;
    if (aws_only) {
      return Status::InvalidArgument(std::string(aws_only) +
                                     " applies to the AWS backend only; add '--backend aws' or "
                                     "drop it");
    }
  }
  for (const auto& b : o.basefiles) {
    if (b.find('{') != std::string::npos && b.find('}') != std::string::npos) {
      return Status::InvalidArgument("--basefile '" + b +
                                     "' holds a replacement string; a basefile is the same for "
                                     "every task: use --transferfile for per-task files");
    }
  }
  return o;
}

}  // namespace parallelagram::driver
