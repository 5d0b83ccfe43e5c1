#include "driver/output_paths.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

Status Bad(const char* option, const std::string& path, const std::string& why) {
  return Status::InvalidArgument(std::string(option) + " '" + path + "' " + why);
}

Status CheckResultsDir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  if (ec) return Bad("--results", dir, "is not a usable path: " + ec.message());
  // The deepest existing path on the way to DIR must be a directory we can write into (or DIR
  // itself, an existing directory).
  fs::path at = p;
  while (!fs::exists(fs::symlink_status(at, ec)) && at.has_parent_path() &&
         at != at.parent_path()) {
    at = at.parent_path();
  }
  if (!fs::is_directory(at, ec)) {
    return Bad("--results", dir,
               "cannot be a directory: '" + at.string() + "' is a file; name a directory");
  }
  if (::access(at.c_str(), W_OK | X_OK) != 0) {
    return Bad("--results", dir, "cannot be written: '" + at.string() + "' is not writable");
  }
  return Status::Ok();
}

Status CheckJoblog(const std::string& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    return Bad("--joblog", file, "is a directory; name a file");
  }
  fs::path parent = fs::absolute(file, ec).parent_path();
  if (ec || !fs::is_directory(parent, ec)) {
    return Bad("--joblog", file, "cannot be written: its directory does not exist");
  }
  if (fs::exists(file, ec) ? ::access(file.c_str(), W_OK) != 0
                           : ::access(parent.c_str(), W_OK | X_OK) != 0) {
    return Bad("--joblog", file, "cannot be written: permission denied");
  }
  return Status::Ok();
}

}  // namespace

Status CheckOutputPaths(const RunOptions& opts) {
  if (!opts.results_dir.empty()) PG_RETURN_IF_ERROR(CheckResultsDir(opts.results_dir));
  if (!opts.joblog.empty()) PG_RETURN_IF_ERROR(CheckJoblog(opts.joblog));
  return Status::Ok();
}

}  // namespace parallelagram::driver
