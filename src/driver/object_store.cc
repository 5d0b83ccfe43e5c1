#include "driver/object_store.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

Status CopyVia(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::path dest(to);
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path(), ec);
  std::string tmp = to + ".tmp" + std::to_string(::getpid());
  // A hard link is enough when both are on one file system; the source is never modified.
  fs::remove(tmp, ec);
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot copy '" + from + "' to '" + to + "': " + ec.message());
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot write '" + to + "': " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

DirectoryObjectStore::DirectoryObjectStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string DirectoryObjectStore::Uri(const std::string& key) const {
  return "file://" + root_ + "/" + key;
}

Result<std::string> DirectoryObjectStore::PathOf(const std::string& uri) const {
  const std::string prefix = "file://" + root_ + "/";
  if (uri.rfind(prefix, 0) != 0 || uri.find("/../") != std::string::npos) {
    return Status::InvalidArgument("object URI '" + uri + "' is not inside the store " + root_);
  }
  return uri.substr(7);
}

Result<std::string> DirectoryObjectStore::PutFile(const std::string& key,
                                                  const std::string& path) {
  std::string dest = root_ + "/" + key;
  std::error_code ec;
  if (key.rfind("cas/", 0) == 0 && fs::exists(dest, ec)) return Uri(key);
  if (!fs::is_regular_file(path, ec)) {
    return Status::NotFound("cannot stage '" + path + "': not a readable file");
  }
  PG_RETURN_IF_ERROR(CopyVia(path, dest));
  return Uri(key);
}

Status DirectoryObjectStore::GetFile(const std::string& uri, const std::string& dest) {
  PG_ASSIGN_OR_RETURN(std::string src, PathOf(uri));
  std::error_code ec;
  if (!fs::is_regular_file(src, ec)) return Status::NotFound("object '" + uri + "' does not exist");
  return CopyVia(src, dest);
}

Status DirectoryObjectStore::Delete(const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string p, PathOf(uri));
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) return Status::IoError("cannot remove '" + p + "': " + ec.message());
  return Status::Ok();
}

}  // namespace parallelagram::driver
