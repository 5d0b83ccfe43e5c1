#include "os/zip_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <unordered_set>

namespace parallelagram::os {
namespace {

std::string ZipErrorText(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

bool SafeName(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

// A package that cannot be laid out (a file where a directory must go, a name too long, a
// path too deep) is the caller's error; only a full disk and the like are ours. Messages
// name the entry, never the server's own path.
Status EntryError(const std::string& name, int err) {
  std::string what = "zip entry '" + name + "' cannot be unpacked: " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT || err == EIO || err == ENOMEM || err == EMFILE ||
      err == ENFILE || err == EROFS) {
    return Status::IoError(what);
  }
  return Status::InvalidArgument(what);
}

// Directories below the package directory an entry may be nested in, and directories a
// package may make in all. Each directory made costs a path walk as deep as it is, so both
// bound the time a hostile zip can take (a 2,000-level entry took 6 s unbounded).
constexpr size_t kMaxDepth = 128;
constexpr size_t kMaxDirectories = 100000;

// Creates the directories of `rel` (a relative path, no "..") under `dir`, each at most once
// per package (`made` remembers them).
Status MakeDirs(const std::string& dir, const std::string& rel, const std::string& entry,
                std::unordered_set<std::string>* made) {
  if (made->count(rel)) return Status::Ok();
  if (static_cast<size_t>(std::count(rel.begin(), rel.end(), '/')) + 1 > kMaxDepth) {
    return Status::InvalidArgument("zip entry '" + entry + "' is nested more than " +
                                   std::to_string(kMaxDepth) + " directories deep");
  }
  for (size_t i = 1; i <= rel.size(); ++i) {
    if (i == rel.size() || rel[i] == '/') {
      std::string sub = rel.substr(0, i);
      if (made->count(sub)) continue;
      if (made->size() >= kMaxDirectories) {
        return Status::InvalidArgument("the zip makes more than " +
                                       std::to_string(kMaxDirectories) + " directories");
      }
      std::string p = dir + "/" + sub;
      if (mkdir(p.c_str(), 0755) != 0) {
        int e = errno;
        struct stat st;
        if (!(e == EEXIST && stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
          return EntryError(entry, e == EEXIST ? ENOTDIR : e);
        }
      }
      made->insert(std::move(sub));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> MakeZip(const std::vector<ZipEntry>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (src == nullptr) return Status::Internal("zip: cannot create a buffer");
  zip_t* za = zip_open_from_source(src, ZIP_TRUNCATE, &err);
  if (za == nullptr) {
    zip_source_free(src);
    return Status::Internal("zip: cannot open a buffer for writing");
  }
  zip_source_keep(src);
  for (const auto& e : entries) {
    zip_int64_t idx;
    if (!e.name.empty() && e.name.back() == '/') {
      idx = zip_dir_add(za, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* fs = zip_source_buffer(za, e.content.data(), e.content.size(), 0);
      idx = fs ? zip_file_add(za, e.name.c_str(), fs, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) : -1;
      if (idx < 0 && fs) zip_source_free(fs);
    }
    uint32_t type = (!e.name.empty() && e.name.back() == '/') ? S_IFDIR : S_IFREG;
    const auto uidx = static_cast<zip_uint64_t>(idx);
    if (idx >= 0 && type == S_IFREG && !e.compress &&
        zip_set_file_compression(za, uidx, ZIP_CM_STORE, 0) != 0) {
      idx = -1;
    }
    if (idx >= 0 && zip_file_set_mtime(za, uidx, static_cast<time_t>(kZipEntryMtime), 0) != 0) {
      idx = -1;
    }
    if (idx < 0 ||
        zip_file_set_external_attributes(za, uidx, 0, ZIP_OPSYS_UNIX, (type | e.mode) << 16) != 0) {
      std::string msg = zip_strerror(za);
      zip_discard(za);
      zip_source_free(src);
      return Status::Internal("zip: cannot add " + e.name + ": " + msg);
    }
  }
  if (zip_close(za) != 0) {
    std::string msg = zip_strerror(za);
    zip_discard(za);
    zip_source_free(src);
    return Status::Internal("zip: cannot finish the archive: " + msg);
  }
  std::string out;
  zip_stat_t st;
  if (zip_source_open(src) != 0 || zip_source_stat(src, &st) != 0) {
    zip_source_free(src);
    return Status::Internal("zip: cannot read the archive back");
  }
  out.resize(st.size);
  zip_int64_t n = zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  zip_source_free(src);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) {
    return Status::Internal("zip: short read of the archive");
  }
  return out;
}

Result<UnpackedZip> UnpackZip(const std::string& zip_bytes, const std::string& dir,
                              uint64_t max_unzipped_bytes) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(zip_bytes.data(), zip_bytes.size(), 0, &err);
  if (src == nullptr) return Status::Internal("zip: cannot create a buffer");
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (za == nullptr) {
    zip_source_free(src);
    std::string why = ZipErrorText(zip_error_code_zip(&err));
    zip_error_fini(&err);
    return Status::InvalidArgument("not a zip file (" + why + ")");
  }
  std::unique_ptr<zip_t, void (*)(zip_t*)> guard(za, [](zip_t* z) { zip_discard(z); });
  UnpackedZip result;
  zip_int64_t n = zip_get_num_entries(za, 0);
  std::string buf;
  uint64_t written = 0;                  // bytes actually written, all entries
  std::unordered_set<std::string> made;  // directories made (relative paths)
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st) != 0 || st.name == nullptr) {
      return Status::InvalidArgument("zip entry " + std::to_string(i) + " is unreadable");
    }
    std::string name = st.name;
    if (!SafeName(name)) {
      return Status::InvalidArgument("zip entry '" + name + "' escapes the package directory");
    }
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    zip_file_get_external_attributes(za, static_cast<zip_uint64_t>(i), 0, &opsys, &attr);
    uint32_t mode = (opsys == ZIP_OPSYS_UNIX) ? (attr >> 16) & 07777 : 0;
    std::string path = dir + "/" + name;
    if (path.size() >= PATH_MAX) return EntryError(name.substr(0, 200) + "...", ENAMETOOLONG);
    if (name.back() == '/') {
      PG_RETURN_IF_ERROR(MakeDirs(dir, name.substr(0, name.size() - 1), name, &made));
      continue;
    }
    if ((opsys == ZIP_OPSYS_UNIX) && S_ISLNK(attr >> 16)) {
      return Status::InvalidArgument("zip entry '" + name + "' is a symbolic link");
    }
    result.unzipped_bytes += st.size;
    if (result.unzipped_bytes > max_unzipped_bytes) {
      return Status::InvalidArgument("unzipped size exceeds " + std::to_string(max_unzipped_bytes) +
                                     " bytes");
    }
    size_t slash = name.rfind('/');
    if (slash != std::string::npos) {
      PG_RETURN_IF_ERROR(MakeDirs(dir, name.substr(0, slash), name, &made));
    }
    zip_file_t* zf = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    if (zf == nullptr) return Status::InvalidArgument("zip entry '" + name + "' cannot be read");
    if (mode == 0) mode = 0644;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (fd < 0) {
      int e = errno;
      zip_fclose(zf);
      return EntryError(name, e);
    }
    buf.resize(1 << 16);
    zip_int64_t got;
    bool ok = true;
    bool too_large = false;
    // Count what is written, not what the entry declares: a declared size can lie.
    while ((got = zip_fread(zf, buf.data(), buf.size())) > 0) {
      written += static_cast<uint64_t>(got);
      if (written > max_unzipped_bytes) {
        too_large = true;
        break;
      }
      if (write(fd, buf.data(), static_cast<size_t>(got)) != got) ok = false;
    }
    if (got < 0) ok = false;
    zip_fclose(zf);
    fchmod(fd, mode & 07777);
    close(fd);
    if (too_large) {
      return Status::InvalidArgument("unzipped size exceeds " + std::to_string(max_unzipped_bytes) +
                                     " bytes");
    }
    if (!ok) return Status::InvalidArgument("zip entry '" + name + "' is corrupt");
    if (name == "bootstrap" && (mode & 0100)) result.has_executable_bootstrap = true;
  }
  result.unzipped_bytes = written;
  return result;
}

}  // namespace parallelagram::os
