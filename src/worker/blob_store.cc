#include "worker/blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "worker/s3_blobs.h"

namespace parallelagram {
namespace fs = std::filesystem;

namespace {

std::string TempNameFor(const std::string& dest) {
  static unsigned counter = 0;
  return dest + ".pgtmp." + std::to_string(::getpid()) + "." + std::to_string(++counter);
}

Status EnsureParent(const std::string& path) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return Status::Ok();
  fs::create_directories(parent, ec);
  if (ec)
    return Status::IoError("cannot create directory " + parent.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

std::string UriScheme(const std::string& uri) {
  auto p = uri.find("://");
  if (p == std::string::npos || p == 0) return "";
  return uri.substr(0, p);
}

Result<std::string> FileUriPath(const std::string& uri) {
  constexpr std::string_view kPrefix = "file://";
  if (uri.compare(0, kPrefix.size(), kPrefix) != 0) {
    return Status::InvalidArgument("not a file:// URI: " + uri);
  }
  std::string rest = uri.substr(kPrefix.size());
  if (rest.compare(0, 9, "localhost") == 0) rest = rest.substr(9);
  if (rest.empty() || rest[0] != '/') {
    return Status::InvalidArgument("file URI must hold an absolute path (file:///dir/file): " +
                                   uri);
  }
  return rest;
}

Status CopyFileAtomic(const std::string& src, const std::string& dest) {
  PG_RETURN_IF_ERROR(EnsureParent(dest));
  std::string tmp = TempNameFor(dest);
  std::error_code ec;
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove(tmp, ec);
    std::error_code ec2;
    if (!fs::exists(src, ec2)) return Status::NotFound("no such file: " + src);
    return Status::IoError("cannot copy " + src + " to " + dest + ": " + ec.message());
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status::IoError("cannot rename into " + dest + ": " + ec.message());
  }
  return Status::Ok();
}

Status FileBlobs::Fetch(const std::string& uri, const std::string& dest) {
  PG_ASSIGN_OR_RETURN(std::string src, FileUriPath(uri));
  std::error_code ec;
  if (!fs::is_regular_file(src, ec)) return Status::NotFound("no such file: " + uri);
  return CopyFileAtomic(src, dest);
}

Status BlobFetcher::FetchRange(const std::string& uri, uint64_t, uint64_t, const std::string&) {
  return Status::InvalidArgument("this worker cannot read part of '" + uri + "'");
}

Status FileBlobs::FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                             const std::string& dest) {
  PG_ASSIGN_OR_RETURN(std::string src, FileUriPath(uri));
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file: " + uri);
    return Status::IoError("cannot read " + src + ": " + strerror(errno));
  }
  PG_RETURN_IF_ERROR(EnsureParent(dest));
  std::string tmp = TempNameFor(dest);
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return Status::IoError("cannot write " + tmp + ": " + strerror(errno));
  }
  Status s;
  loff_t off_in = static_cast<loff_t>(offset);
  uint64_t left = length;
  while (left > 0 && s.ok()) {  // in the kernel when it can (no copy through user space)
    ssize_t n = ::copy_file_range(in, &off_in, out, nullptr, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      std::string buf(std::min<uint64_t>(left, 1 << 20), '\0');
      n = ::pread(in, buf.data(), buf.size(), off_in);
      if (n > 0 && ::write(out, buf.data(), static_cast<size_t>(n)) != n) n = -1;
      if (n > 0) off_in += n;
    }
    if (n < 0) s = Status::IoError("cannot copy part of " + src + ": " + strerror(errno));
    if (n == 0) {
      s = Status::InvalidArgument(uri + " ends before byte " + std::to_string(offset + length) +
                                  ": it changed since the job split it");
    }
    if (n > 0) left -= static_cast<uint64_t>(n);
  }
  ::close(in);
  if (::close(out) != 0 && s.ok()) s = Status::IoError("cannot write " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0)
    s = Status::IoError("cannot write " + dest + ": " + strerror(errno));
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status FileBlobs::Put(const std::string& src, const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string dest, FileUriPath(uri));
  return CopyFileAtomic(src, dest);
}

Status FileBlobs::PutBytes(std::string_view data, const std::string& uri) {
  PG_ASSIGN_OR_RETURN(std::string dest, FileUriPath(uri));
  PG_RETURN_IF_ERROR(EnsureParent(dest));
  std::string tmp = TempNameFor(dest);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot write " + tmp + ": " + strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Status::IoError("cannot write " + dest + ": " + strerror(errno));
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), dest.c_str()) != 0) {
    Status s = Status::IoError("cannot write " + dest + ": " + strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

std::unique_ptr<Blobs> Blobs::WithDefaults() {
  auto b = std::make_unique<Blobs>();
  auto file = std::make_shared<FileBlobs>();
  b->AddFetcher("file", file);
  b->AddStore("file", file);
  auto s3 = std::make_shared<S3Blobs>(S3BlobsConfigFromEnvironment());
  b->AddFetcher("s3", s3);
  b->AddStore("s3", s3);
  return b;
}

void Blobs::AddFetcher(const std::string& scheme, std::shared_ptr<BlobFetcher> f) {
  fetchers_[scheme] = std::move(f);
}

void Blobs::AddStore(const std::string& scheme, std::shared_ptr<BlobStore> s) {
  stores_[scheme] = std::move(s);
}

Status Blobs::FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                         const std::string& dest) {
  auto it = fetchers_.find(UriScheme(uri));
  if (it == fetchers_.end()) {
    return Status::InvalidArgument("this worker cannot fetch '" + uri +
                                   "': unsupported URI scheme (supported: file://, s3://)");
  }
  return it->second->FetchRange(uri, offset, length, dest);
}

Status Blobs::Fetch(const std::string& uri, const std::string& dest) {
  auto it = fetchers_.find(UriScheme(uri));
  if (it == fetchers_.end()) {
    return Status::InvalidArgument("this worker cannot fetch '" + uri +
                                   "': unsupported URI scheme (supported: file://)");
  }
  return it->second->Fetch(uri, dest);
}

Status Blobs::Put(const std::string& src, const std::string& uri) {
  auto it = stores_.find(UriScheme(uri));
  if (it == stores_.end()) {
    return Status::InvalidArgument("this worker cannot store to '" + uri +
                                   "': unsupported URI scheme (supported: file://)");
  }
  return it->second->Put(src, uri);
}

Status Blobs::PutBytes(std::string_view data, const std::string& uri) {
  auto it = stores_.find(UriScheme(uri));
  if (it == stores_.end()) {
    return Status::InvalidArgument("this worker cannot store to '" + uri +
                                   "': unsupported URI scheme (supported: file://)");
  }
  return it->second->PutBytes(data, uri);
}

}  // namespace parallelagram
