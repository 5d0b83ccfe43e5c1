#include "driver/object_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

std::string TempNameFor(const std::string& to) {
  static std::atomic<uint64_t> counter{0};
  return to + ".pgtmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

Status CopyVia(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::path dest(to);
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path(), ec);
  std::string tmp = TempNameFor(to);
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status::IoError("cannot copy '" + from + "' to '" + to + "': " + ec.message());
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status::IoError("cannot write '" + to + "': " + ec.message());
  }
  return Status::Ok();
}

Status WriteAllFd(int fd, std::string_view data, const std::string& name) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IoError("cannot write '" + name + "': " + strerror(errno));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

bool IsStoreTemporary(const std::string& key) {
  size_t slash = key.rfind('/');
  return key.find(".pgtmp.", slash == std::string::npos ? 0 : slash) != std::string::npos;
}

TransferCounters ObjectStore::counters() const {
  TransferCounters c;
  c.files_uploaded = files_up_.load();
  c.bytes_uploaded = bytes_up_.load();
  c.files_present = files_present_.load();
  c.bytes_present = bytes_present_.load();
  c.files_downloaded = files_down_.load();
  c.bytes_downloaded = bytes_down_.load();
  return c;
}

void ObjectStore::CountUpload(int64_t bytes) {
  files_up_ += 1;
  bytes_up_ += bytes;
}
void ObjectStore::CountPresent(int64_t bytes) {
  files_present_ += 1;
  bytes_present_ += bytes;
}
void ObjectStore::CountDownload(int64_t bytes) {
  files_down_ += 1;
  bytes_down_ += bytes;
}

Result<std::string> ObjectStore::PutBytes(const std::string& key, std::string_view data) {
  char tmpl[] = "/tmp/pg-put-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0)
    return Status::IoError(std::string("cannot write a temporary file: ") + strerror(errno));
  Status s = WriteAllFd(fd, data, tmpl);
  ::close(fd);
  Result<std::string> uri = s.ok() ? PutFile(key, tmpl) : Result<std::string>(s);
  ::unlink(tmpl);
  return uri;
}

Result<int64_t> ObjectStore::Size(const std::string& uri) {
  return Status::InvalidArgument("cannot read " + uri +
                                 " through this store: an s3:// input "
                                 "needs --backend aws");
}

Result<std::string> ObjectStore::ReadRange(const std::string& uri, int64_t, size_t) {
  return Size(uri).status();
}

Result<std::string> DirectoryObjectStore::PutBytes(const std::string& key, std::string_view data) {
  const std::string dest = root_ + "/" + key;
  std::error_code ec;
  if (key.rfind("cas/", 0) == 0 && fs::is_regular_file(dest, ec) &&
      fs::file_size(dest, ec) == data.size() && !ec) {
    CountPresent(static_cast<int64_t>(data.size()));
    return Uri(key);
  }
  fs::create_directories(fs::path(dest).parent_path(), ec);
  const std::string tmp = TempNameFor(dest);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot write '" + tmp + "': " + strerror(errno));
  Status s = WriteAllFd(fd, data, tmp);
  if (::close(fd) != 0 && s.ok()) s = Status::IoError("cannot write '" + tmp + "'");
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0)
    s = Status::IoError("cannot write '" + dest + "': " + strerror(errno));
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  CountUpload(static_cast<int64_t>(data.size()));
  return Uri(key);
}

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

PutOutcome DirectoryObjectStore::Put(const std::string& key, const std::string& path) {
  PutOutcome o;
  std::string dest = root_ + "/" + key;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    o.status = Status::NotFound("cannot stage '" + path + "': not a readable file");
    return o;
  }
  o.bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (key.rfind("cas/", 0) == 0 && fs::is_regular_file(dest, ec) &&
      static_cast<int64_t>(fs::file_size(dest, ec)) == o.bytes && !ec) {
    CountPresent(o.bytes);
    o.uri = Uri(key);
    return o;
  }
  o.status = CopyVia(path, dest);
  if (!o.status.ok()) return o;
  CountUpload(o.bytes);
  o.uploaded = true;
  o.uri = Uri(key);
  return o;
}

Result<std::string> DirectoryObjectStore::PutFile(const std::string& key, const std::string& path) {
  PutOutcome o = Put(key, path);
  if (!o.status.ok()) return o.status;
  return o.uri;
}

std::vector<PutOutcome> DirectoryObjectStore::PutFiles(const std::vector<PutRequest>& files) {
  std::vector<PutOutcome> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(Put(f.key, f.path));
  return out;
}

Status DirectoryObjectStore::GetFile(const std::string& uri, const std::string& dest) {
  PG_ASSIGN_OR_RETURN(std::string src, PathOf(uri));
  std::error_code ec;
  if (!fs::is_regular_file(src, ec)) return Status::NotFound("object '" + uri + "' does not exist");
  PG_RETURN_IF_ERROR(CopyVia(src, dest));
  CountDownload(static_cast<int64_t>(fs::file_size(dest, ec)));
  return Status::Ok();
}

Status DirectoryObjectStore::Delete(const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string p, PathOf(uri));
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) return Status::IoError("cannot remove '" + p + "': " + ec.message());
  return Status::Ok();
}

Result<std::vector<StoredObject>> DirectoryObjectStore::List(const std::string& prefix) {
  std::vector<StoredObject> out;
  if (prefix.find("..") != std::string::npos) {
    return Status::InvalidArgument("list prefix '" + prefix + "' must not contain '..'");
  }
  // Walk only the deepest directory the prefix names; filter the rest by string prefix.
  std::string dir_rel =
      prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  fs::path dir = dir_rel.empty() ? fs::path(root_) : fs::path(root_) / dir_rel;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;  // nothing stored there yet
  const size_t root_len = root_.size() + 1;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code fe;
    if (!it->is_regular_file(fe)) continue;
    std::string full = it->path().string();
    if (full.size() <= root_len) continue;
    std::string key = full.substr(root_len);
    if (key.rfind(prefix, 0) != 0 || IsStoreTemporary(key)) continue;
    auto size = it->file_size(fe);
    if (fe) continue;  // removed while we listed
    out.push_back({std::move(key), static_cast<int64_t>(size)});
  }
  if (ec) return Status::IoError("cannot list '" + dir.string() + "': " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const StoredObject& a, const StoredObject& b) { return a.key < b.key; });
  return out;
}

}  // namespace parallelagram::driver
