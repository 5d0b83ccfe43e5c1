#include "driver/inputs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace parallelagram::driver {

InputSource ReadInputStream(std::FILE* f, const std::string& origin, char delimiter) {
  InputSource src;
  src.origin = origin;
  src.delimiter = delimiter;
  const bool lines = delimiter == '\n';
  std::string line;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] == delimiter) {
        if (lines && !line.empty() && line.back() == '\r') line.pop_back();
        src.values.push_back(std::move(line));
        line.clear();
      } else {
        line += buf[i];
      }
    }
  }
  if (!line.empty()) {
    if (lines && line.back() == '\r') line.pop_back();
    src.values.push_back(std::move(line));
  }
  return src;
}

namespace {

Status OpenError(const std::string& path, int e) {
  std::string msg = "cannot read input file '" + path + "' (:::: " + path +
                    "): " + std::strerror(e) + "; check the path";
  if (e == ENOENT) return Status::NotFound(msg);
  if (e == EACCES) return Status::PermissionDenied(msg);
  return Status::IoError(msg);
}

}  // namespace

Status CheckInputFile(const std::string& path) {
  // Not opened: a FIFO's writer would see its reader come and go.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return OpenError(path, errno);
  if (S_ISDIR(st.st_mode)) {
    return Status::IoError("cannot read input file '" + path + "' (:::: " + path +
                           "): it is a directory; give a file");
  }
  if (::access(path.c_str(), R_OK) != 0) return OpenError(path, errno);
  return Status::Ok();
}

Result<InputSource> ReadInputFile(const std::string& path, char delimiter) {
  if (path == "-") return ReadInputStream(stdin, "stdin", delimiter);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return OpenError(path, errno);
  InputSource src = ReadInputStream(f, path, delimiter);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) {
    return Status::IoError("cannot read input file '" + path + "' (:::: " + path +
                           "): is it a directory? give a file");
  }
  return src;
}

int64_t CountTasks(const std::vector<InputSource>& sources, bool link) {
  if (sources.empty()) return 0;
  int64_t n = link ? 0 : 1;
  for (const auto& s : sources) {
    int64_t k = static_cast<int64_t>(s.values.size());
    if (k == 0) return 0;
    if (link) {
      n = std::max(n, k);
    } else {
      if (n > std::numeric_limits<int64_t>::max() / k) return std::numeric_limits<int64_t>::max();
      n *= k;
    }
  }
  return n;
}

std::vector<std::string> TaskValues(const std::vector<InputSource>& sources, bool link,
                                    int64_t index) {
  std::vector<std::string> out(sources.size());
  if (link) {
    for (size_t s = 0; s < sources.size(); ++s) {
      const auto& v = sources[s].values;
      out[s] = v[static_cast<size_t>(index % static_cast<int64_t>(v.size()))];
    }
    return out;
  }
  for (size_t s = sources.size(); s-- > 0;) {
    const auto& v = sources[s].values;
    int64_t k = static_cast<int64_t>(v.size());
    out[s] = v[static_cast<size_t>(index % k)];
    index /= k;
  }
  return out;
}

}  // namespace parallelagram::driver
