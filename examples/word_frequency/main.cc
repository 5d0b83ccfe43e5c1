// Word frequencies over files: one call per file (map), merged as calls finish (reduce).
//   word_frequency [--aws FUNCTION] [--top N] FILE...
// Prints "COUNT WORD" lines, most frequent first (ties by word), as
//   cat FILE... | tr -cs 'A-Za-z' '\n' | tr A-Z a-z | sort | uniq -c | sort -k1,1nr -k2
// would.
#include <parallelagram/parallelagram.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

std::map<std::string, int64_t> CountWords(const std::string& text) {
  std::map<std::string, int64_t> counts;
  std::string word;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  return counts;
}
PARALLELAGRAM_FUNCTION(CountWords);

int main(int argc, char** argv) {
  parallelagram::ServeIfWorker(argc, argv);
  parallelagram::ExecutorOptions opts;
  size_t top = 20;
  std::vector<std::string> texts, files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--aws") == 0 && i + 1 < argc) {
      opts.backend = "aws";
      opts.function_name = argv[++i];
    } else if (std::strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
      top = std::stoul(argv[++i]);
    } else {
      std::ifstream in(argv[i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "word_frequency: cannot read %s\n", argv[i]);
        return 2;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      texts.push_back(ss.str());
      files.push_back(argv[i]);
    }
  }
  parallelagram::Executor ex(opts);
  auto fs = ex.Map(CountWords, texts);
  std::map<std::string, int64_t> total;
  for (auto& f : parallelagram::AsCompleted(fs)) {
    auto r = f.result();
    if (!r.ok()) {
      std::fprintf(stderr, "word_frequency: %s\n", r.error().what());
      return 1;
    }
    for (const auto& [w, n] : r.value()) total[w] += n;
  }
  std::vector<std::pair<std::string, int64_t>> sorted(total.begin(), total.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (sorted.size() > top) sorted.resize(top);
  for (const auto& [w, n] : sorted) std::printf("%7lld %s\n", static_cast<long long>(n), w.c_str());
  return 0;
}
