#include "driver/line_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace parallelagram::driver {

Status LineFile::Open(const std::string& path, bool truncate) {
  Close();
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return Status::IoError("cannot write '" + path + "': " + std::strerror(errno));
  struct stat st {};
  fd_ = fd;
  path_ = path;
  size_ = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : 0;
  return Status::Ok();
}

void LineFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status LineFile::Append(std::string_view line) {
  if (fd_ < 0) return Status::Ok();
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      if (done > 0) (void)::ftruncate(fd_, size_);  // no torn line left behind
      return Status::IoError("cannot write '" + path_ + "': " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(line.size());
  return Status::Ok();
}

void LineFile::Sync() {
  if (fd_ >= 0) (void)::fdatasync(fd_);
}

}  // namespace parallelagram::driver
