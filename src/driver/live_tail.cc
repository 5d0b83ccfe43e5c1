#include "driver/live_tail.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace parallelagram::driver {
namespace {

const char* const kStreamSuffix[2] = {".stdout", ".stderr"};

}  // namespace

LiveTail::~LiveTail() {
  for (auto& [seq, t] : tails_) Drop(t);
}

Result<std::string> LiveTail::Open(int64_t seq, const std::string& name) {
  Close(seq);
  Tail t;
  t.prefix = dir_ + "/" + name;
  for (int s = 0; s < 2; ++s) {
    const std::string path = t.prefix + kStreamSuffix[s];
    // Created here, read here; the worker opens it for appending.
    t.fds[s] = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (t.fds[s] < 0) {
      const int err = errno;
      Drop(t);
      return Status::IoError("cannot create " + path +
                             " for the task's live output: " + strerror(err));
    }
  }
  std::string prefix = t.prefix;
  tails_.emplace(seq, std::move(t));
  return prefix;
}

void LiveTail::Poll() {
  for (auto& [seq, t] : tails_) Read(seq, t);
}

void LiveTail::Close(int64_t seq) {
  auto it = tails_.find(seq);
  if (it == tails_.end()) return;
  Read(seq, it->second);
  Drop(it->second);
  tails_.erase(it);
}

void LiveTail::Read(int64_t seq, Tail& t) {
  char buf[65536];
  for (int s = 0; s < 2; ++s) {
    std::string got;
    while (t.fds[s] >= 0) {
      // The fd's offset is where the last read stopped; the worker only appends.
      ssize_t n = ::read(t.fds[s], buf, sizeof buf);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(t.fds[s]);
        t.fds[s] = -1;
      }
      break;  // 0: nothing more for now
    }
    if (!got.empty()) sink_(seq, s == 1, got);
  }
}

void LiveTail::Drop(Tail& t) {
  for (int s = 0; s < 2; ++s) {
    if (t.fds[s] >= 0) ::close(t.fds[s]);
    t.fds[s] = -1;
    ::unlink((t.prefix + kStreamSuffix[s]).c_str());
  }
}

}  // namespace parallelagram::driver
