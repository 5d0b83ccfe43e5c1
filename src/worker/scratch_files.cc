#include "worker/scratch_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "common/sha256.h"

namespace parallelagram {
namespace fs = std::filesystem;

namespace {

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

bool IsHexSha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Status CheckRelativePath(const std::string& rel, const std::string& what) {
  if (rel.empty()) return Status::InvalidArgument(what + " is empty");
  if (rel[0] == '/') {
    return Status::InvalidArgument(what + " '" + rel +
                                   "' must be relative to the scratch directory");
  }
  size_t start = 0;
  for (;;) {
    size_t end = rel.find('/', start);
    std::string part = rel.substr(start, end == std::string::npos ? end : end - start);
    if (part == ".." || part == ".") {
      return Status::InvalidArgument(what + " '" + rel +
                                     "' must not contain '.' or '..' components");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (rel.find('\0') != std::string::npos)
    return Status::InvalidArgument(what + " holds a NUL byte");
  return Status::Ok();
}

ScratchFiles::ScratchFiles(Blobs* blobs, std::string cache_dir)
    : blobs_(blobs), cache_dir_(std::move(cache_dir)) {}

Status ScratchFiles::FetchVerified(const StagedFile& f, const std::string& dest) {
  if (f.offset) {
    PG_RETURN_IF_ERROR(blobs_->FetchRange(f.uri, *f.offset, f.size, dest));
  } else {
    PG_RETURN_IF_ERROR(blobs_->Fetch(f.uri, dest));
  }
  struct stat st;
  if (::stat(dest.c_str(), &st) != 0)
    return Status::IoError("fetched " + f.uri + " but cannot stat it");
  if (f.size != 0 && static_cast<uint64_t>(st.st_size) != f.size) {
    ::unlink(dest.c_str());
    return Status::InvalidArgument(f.uri + " has " + std::to_string(st.st_size) +
                                   " bytes, the event says " + std::to_string(f.size) +
                                   ": restage the input");
  }
  if (!f.sha256.empty()) {
    PG_ASSIGN_OR_RETURN(std::string got, Sha256File(dest));
    if (got != f.sha256) {
      ::unlink(dest.c_str());
      return Status::InvalidArgument(f.uri + " has sha256 " + got + ", the event says " + f.sha256 +
                                     ": restage the input");
    }
  }
  return Status::Ok();
}

Status ScratchFiles::StageCached(const StagedFile& f, const std::string& dest) {
  std::string name = f.sha256 + (f.executable ? ".x" : "");
  std::string cached = cache_dir_ + "/" + name;
  struct stat st;
  auto it = cache_.find(name);
  bool fresh = it != cache_.end() && ::stat(cached.c_str(), &st) == 0 &&
               static_cast<uint64_t>(st.st_size) == it->second.size &&
               MtimeNs(st) == it->second.mtime_ns;
  if (!fresh) {
    std::error_code ec;
    fs::create_directories(cache_dir_, ec);
    if (ec)
      return Status::IoError("cannot create cache directory " + cache_dir_ + ": " + ec.message());
    PG_RETURN_IF_ERROR(FetchVerified(f, cached));
    ::chmod(cached.c_str(), f.executable ? 0555 : 0444);
    if (::stat(cached.c_str(), &st) != 0) return Status::IoError("cannot stat " + cached);
    cache_[name] = CacheEntry{static_cast<uint64_t>(st.st_size), MtimeNs(st)};
    ++cache_fetches_;
  }
  if (::link(cached.c_str(), dest.c_str()) == 0) return Status::Ok();
  PG_RETURN_IF_ERROR(CopyFileAtomic(cached, dest));
  ::chmod(dest.c_str(), f.executable ? 0755 : 0644);
  return Status::Ok();
}

Status ScratchFiles::PlaceInputs(const std::vector<StagedFile>& files, const std::string& scratch) {
  for (const auto& f : files) {
    PG_RETURN_IF_ERROR(CheckRelativePath(f.path, "files[].path"));
    if (f.uri.empty()) return Status::InvalidArgument("input '" + f.path + "' has no uri");
    if (!f.sha256.empty() && !IsHexSha256(f.sha256)) {
      return Status::InvalidArgument("input '" + f.path +
                                     "' has a malformed sha256 (want 64 lower-case hex digits)");
    }
    std::string dest = scratch + "/" + f.path;
    std::error_code ec;
    fs::create_directories(fs::path(dest).parent_path(), ec);
    if (ec)
      return Status::IoError("cannot create the directory for input '" + f.path +
                             "': " + ec.message());
    fs::remove(dest, ec);
    Status s;
    if (f.cache && !f.sha256.empty()) {
      s = StageCached(f, dest);
    } else {
      s = FetchVerified(f, dest);
      if (s.ok()) ::chmod(dest.c_str(), f.executable ? 0755 : 0644);
    }
    if (!s.ok()) return s.WithContext("staging input '" + f.path + "'");
  }
  return Status::Ok();
}

Result<std::vector<ReturnedFile>> ScratchFiles::StoreReturns(
    const std::vector<std::string>& returns, const std::string& scratch,
    const std::string& output_uri) {
  std::vector<ReturnedFile> out;
  if (returns.empty()) return out;
  if (output_uri.empty()) {
    return Status::InvalidArgument("the event asks for returned files but gives no output_uri");
  }
  std::string base = output_uri;
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t index = 0;
  for (const auto& rel : returns) {
    // The object's name: the file's position and its basename with every character outside
    // [A-Za-z0-9._-] replaced by '_', so any file name makes a plain, unambiguous key (the
    // result's `path` keeps the real name).
    std::string safe = std::to_string(index++) + "-";
    for (char c : rel.substr(rel.rfind('/') + 1)) {
      safe +=
          std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '_';
    }
    PG_RETURN_IF_ERROR(CheckRelativePath(rel, "returns[]"));
    ReturnedFile r;
    r.path = rel;
    std::string src = scratch + "/" + rel;
    struct stat st;
    if (::stat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      r.missing = true;
      out.push_back(std::move(r));
      continue;
    }
    r.uri = base + "/" + safe;
    r.size = static_cast<uint64_t>(st.st_size);
    PG_ASSIGN_OR_RETURN(r.sha256, Sha256File(src));
    Status s = blobs_->Put(src, r.uri);
    if (!s.ok()) return s.WithContext("storing returned file '" + rel + "'");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace parallelagram
