// Process tasks and C++ functions in one job: each FILE is shipped to a task that runs
// `sha256sum` (a process task, its file transferred), and, at the same time, a C++ function
// measures its line lengths; the report joins both.
//   checksum_report [--aws FUNCTION] FILE...
// Prints "SHA256  LINES  LONGEST  FILE" per file, in the order given. FILEs are relative to
// the current directory (the task finds each at the same relative path).
#include <parallelagram/parallelagram.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

struct LineStats {
  int64_t lines = 0;
  int64_t longest = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LineStats, lines, longest)

LineStats MeasureLines(const std::string& text) {
  LineStats s;
  int64_t cur = 0;
  for (char c : text) {
    if (c == '\n') {
      ++s.lines;
      s.longest = std::max(s.longest, cur);
      cur = 0;
    } else {
      ++cur;
    }
  }
  s.longest = std::max(s.longest, cur);
  return s;
}
PARALLELAGRAM_FUNCTION(MeasureLines);

int main(int argc, char** argv) {
  parallelagram::ServeIfWorker(argc, argv);
  parallelagram::ExecutorOptions opts;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--aws") == 0 && i + 1 < argc) {
      opts.backend = "aws";
      opts.function_name = argv[++i];
    } else {
      files.push_back(argv[i]);
    }
  }
  parallelagram::Executor ex(opts);
  std::vector<parallelagram::Future<parallelagram::ProcessResult>> sums;
  std::vector<parallelagram::Future<LineStats>> stats;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "checksum_report: cannot read %s\n", f.c_str());
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    try {  // a path the task cannot find (absolute, outside this directory) is refused here
      sums.push_back(ex.Run({"sha256sum", f}, {.transfer = {f}}));
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "checksum_report: %s\n", e.what());
      return 2;
    }
    stats.push_back(ex.Call(MeasureLines, text.str()));
  }
  try {
    for (size_t i = 0; i < files.size(); ++i) {
      parallelagram::ProcessResult r = sums[i].get();
      if (r.exit_code != 0) {
        std::fprintf(stderr, "checksum_report: sha256sum %s: exit %d: %s", files[i].c_str(),
                     r.exit_code, r.stderr_data.c_str());
        return 1;
      }
      LineStats s = stats[i].get();
      std::printf("%.64s  %lld  %lld  %s\n", r.stdout_data.c_str(), static_cast<long long>(s.lines),
                  static_cast<long long>(s.longest), files[i].c_str());
    }
  } catch (const parallelagram::TaskError& e) {
    std::fprintf(stderr, "checksum_report: %s\n", e.what());
    return 1;
  }
  return 0;
}
