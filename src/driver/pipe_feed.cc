#include "driver/pipe_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/sha256.h"
#include "driver/staging.h"

namespace parallelagram::driver {

Result<std::unique_ptr<PipeFeed>> PipeFeed::Open(PipeOptions options) {
  std::unique_ptr<PipeFeed> f(new PipeFeed(std::move(options)));
  PipeOptions& o = f->o_;
  if (o.part && !IsS3Uri(o.input)) {
    struct stat st;
    if (::stat(o.input.c_str(), &st) != 0) {
      return Status::NotFound("--pipe-part: cannot open '" + o.input + "': " + strerror(errno));
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
      return Status::InvalidArgument("--pipe-part: '" + o.input +
                                     "' is not a seekable file (a pipe or a terminal?): use "
                                     "--pipe to read it as a stream");
    }
    std::error_code ec;
    o.input = std::filesystem::absolute(o.input, ec).lexically_normal().string();
  }
  if (o.part && o.part_slices == 0 && o.rules.block_size <= 0) {
    return Status::InvalidArgument("--block must be at least 1 byte");
  }
  if (o.part_slices > 0) o.rules.block_size = 1;  // set from the size when the file is split
  PG_ASSIGN_OR_RETURN(f->splitter_, BlockSplitter::Make(o.rules));
  if (o.part && o.split_up_front) PG_RETURN_IF_ERROR(f->Split());
  return f;
}

PipeFeed::~PipeFeed() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  not_full_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (part_fd_ >= 0) ::close(part_fd_);
}

void PipeFeed::SetWake(std::function<void()> wake) { wake_ = std::move(wake); }

int64_t PipeFeed::known_total() const { return total_.load(); }

Status PipeFeed::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

std::vector<std::string> PipeFeed::StoredObjects() const {
  std::lock_guard<std::mutex> l(mu_);
  return stored_;
}

TaskSource::Next PipeFeed::Pull(SourcedTask* task) {
  if (!started_) {
    started_ = true;
    if (store_ == nullptr) {
      std::lock_guard<std::mutex> l(mu_);
      error_ = Status::Internal("--pipe: the job gave the feed no store");
      ended_ = true;
    } else {
      local_store_ = store_->Uri("x").rfind("file://", 0) == 0;
      in_place_ = o_.part && !IsS3Uri(o_.input) && local_store_;
      reader_ = std::thread([this] { ReadLoop(); });
    }
  }
  std::unique_lock<std::mutex> l(mu_);
  if (queue_.empty()) {
    if (ended_) return Next::kEnd;
    waiting_ = true;
    return Next::kWait;
  }
  *task = std::move(queue_.front());
  queue_.pop_front();
  l.unlock();
  not_full_.notify_all();
  return Next::kTask;
}

void PipeFeed::ReadLoop() {
  Status s = o_.part ? ReadParts() : ReadStdin();
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stop_ && !s.ok()) error_ = s;
    ended_ = true;
    total_ = queued_;
    if (waiting_) wake = wake_;
    waiting_ = false;
  }
  if (wake) wake();
}

Result<StagedFile> PipeFeed::StoreBytes(std::string_view data, const std::string& path) {
  StagedFile f;
  f.path = path;
  f.size = data.size();
  std::string name;
  if (local_store_) {  // read in place by the worker on this machine: no digest to check
    name = "n" + std::to_string(++stored_count_);
  } else {  // S3: content-addressed, verified by the worker after its GET
    f.sha256 = Sha256Hex(data);
    name = f.sha256;
  }
  PG_ASSIGN_OR_RETURN(f.uri, store_->PutBytes("jobs/" + job_id_ + "/blocks/" + name, data));
  std::lock_guard<std::mutex> l(mu_);
  stored_.push_back(f.uri);
  return f;
}

Result<std::vector<StagedFile>> PipeFeed::HeaderPart(const std::string& header) {
  if (header.empty()) return std::vector<StagedFile>{};
  if (header_uri_.empty()) {
    PG_ASSIGN_OR_RETURN(header_file_, StoreBytes(header, kHeaderPath));
    header_uri_ = header_file_.uri;
  }
  return std::vector<StagedFile>{header_file_};
}

Status PipeFeed::Queue(std::vector<StagedFile> parts) {
  std::function<void()> wake;
  {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return stop_ || queue_.size() < o_.lookahead; });
    if (stop_) return Status::Cancelled("the job ended");
    SourcedTask t;
    t.values = {""};
    t.stdin_parts = std::move(parts);
    queue_.push_back(std::move(t));
    ++queued_;
    if (waiting_) wake = wake_;
    waiting_ = false;
  }
  if (wake) wake();
  return Status::Ok();
}

Status PipeFeed::ReadStdin() {
  const int fd = o_.input_fd;
  auto read = [&](char* buf, size_t n) -> int64_t {
    for (;;) {  // wait in short polls, so that a job that ends stops the reader
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stop_) return 0;
      }
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) continue;
      return ::read(fd, buf, n);
    }
  };
  // Hashing and storing a block overlaps reading and cutting the next one: a second thread
  // (a bulk transfer) takes the blocks through a channel of two.
  struct Channel {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<std::string, std::string>> blocks;  // header, body
    bool closed = false;
    Status error;
  } ch;
  std::thread storer([&] {
    for (;;) {
      std::pair<std::string, std::string> b;
      {
        std::unique_lock<std::mutex> l(ch.mu);
        ch.cv.wait(l, [&] { return !ch.blocks.empty() || ch.closed; });
        if (ch.blocks.empty()) return;
        b = std::move(ch.blocks.front());
        ch.blocks.pop_front();
      }
      ch.cv.notify_all();
      Status s = [&]() -> Status {
        PG_ASSIGN_OR_RETURN(std::vector<StagedFile> parts, HeaderPart(b.first));
        PG_ASSIGN_OR_RETURN(StagedFile block, StoreBytes(b.second, kBlockPath));
        parts.push_back(std::move(block));
        return Queue(std::move(parts));
      }();
      if (!s.ok()) {
        std::lock_guard<std::mutex> l(ch.mu);
        ch.error = s;
        ch.cv.notify_all();
        return;
      }
    }
  });
  auto emit = [&](std::string_view header, std::string_view body) -> Status {
    std::unique_lock<std::mutex> l(ch.mu);
    ch.cv.wait(l, [&] { return ch.blocks.size() < 2 || !ch.error.ok(); });
    if (!ch.error.ok()) return ch.error;
    ch.blocks.emplace_back(std::string(header), std::string(body));
    l.unlock();
    ch.cv.notify_all();
    return Status::Ok();
  };
  auto warn = [](const std::string& w) { std::fprintf(stderr, "parallelagram: %s\n", w.c_str()); };
  Status s = splitter_->Run(read, emit, warn);
  {
    std::lock_guard<std::mutex> l(ch.mu);
    ch.closed = true;
  }
  ch.cv.notify_all();
  storer.join();
  if (s.ok()) s = ch.error;
  if (s.code() == StatusCode::kCancelled) return Status::Ok();
  return s;
}

Result<std::string> PipeFeed::ReadAt(int64_t off, size_t n) {
  if (IsS3Uri(o_.input)) {
    ObjectStore* in = o_.input_store != nullptr ? o_.input_store : store_;
    if (in == nullptr) return Status::Internal("--pipe-part: no store to read " + o_.input);
    return in->ReadRange(o_.input, off, n);
  }
  if (part_fd_ < 0) {
    part_fd_ = ::open(o_.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (part_fd_ < 0) return Status::NotFound("--pipe-part: cannot open " + o_.input);
  }
  std::string buf(n, '\0');
  ssize_t got = ::pread(part_fd_, buf.data(), n, off);
  if (got < 0) return Status::IoError("--pipe-part: cannot read " + o_.input);
  buf.resize(static_cast<size_t>(got));
  return buf;
}

Status PipeFeed::Split() {
  int64_t size = 0;
  if (IsS3Uri(o_.input) && o_.input_size >= 0) {
    size = o_.input_size;
  } else if (IsS3Uri(o_.input)) {
    ObjectStore* in = o_.input_store != nullptr ? o_.input_store : store_;
    if (in == nullptr) return Status::Internal("--pipe-part: no store to read " + o_.input);
    PG_ASSIGN_OR_RETURN(size, in->Size(o_.input));
  } else {
    struct stat st;
    if (::stat(o_.input.c_str(), &st) != 0) {
      return Status::NotFound("--pipe-part: cannot open " + o_.input);
    }
    size = st.st_size;
    if (S_ISBLK(st.st_mode)) {
      int fd = ::open(o_.input.c_str(), O_RDONLY | O_CLOEXEC);
      size = fd < 0 ? 0 : static_cast<int64_t>(::lseek(fd, 0, SEEK_END));
      if (fd >= 0) ::close(fd);
    }
  }
  if (o_.part_slices > 0) {  // GNU's --block -K: K blocks per job slot
    BlockRules r = o_.rules;
    const int64_t parts = o_.part_slices * std::max(1, o_.jobs);
    r.block_size = 1 + size / parts;  // GNU parallel's 1 + int(size / slots / K)
    PG_ASSIGN_OR_RETURN(splitter_, BlockSplitter::Make(r));
  }
  auto read_at = [this](int64_t off, size_t n) { return ReadAt(off, n); };
  PG_ASSIGN_OR_RETURN(positions_, splitter_->SplitPositions(size, read_at, &part_header_));
  total_ = static_cast<int64_t>(positions_.size()) - 1;
  split_ = true;
  return Status::Ok();
}

Status PipeFeed::ReadParts() {
  const bool s3 = IsS3Uri(o_.input);
  if (!split_) PG_RETURN_IF_ERROR(Split());
  PG_ASSIGN_OR_RETURN(std::vector<StagedFile> head, HeaderPart(part_header_));
  const std::vector<int64_t>& pos = positions_;
  for (size_t i = 0; i + 1 < pos.size(); ++i) {
    const auto len = static_cast<uint64_t>(pos[i + 1] - pos[i]);
    std::vector<StagedFile> parts = head;
    if (s3 || in_place_) {  // each worker reads its own range
      StagedFile f;
      f.path = kBlockPath;
      f.uri = s3 ? o_.input : "file://" + o_.input;
      f.size = len;
      f.offset = static_cast<uint64_t>(pos[i]);
      parts.push_back(std::move(f));
    } else {  // a local file for Lambda: stored block by block
      PG_ASSIGN_OR_RETURN(std::string data, ReadAt(pos[i], len));
      if (data.size() != len) return Status::IoError("--pipe-part: " + o_.input + " shrank");
      PG_ASSIGN_OR_RETURN(StagedFile f, StoreBytes(data, kBlockPath));
      parts.push_back(std::move(f));
    }
    Status q = Queue(std::move(parts));
    if (q.code() == StatusCode::kCancelled) return Status::Ok();
    PG_RETURN_IF_ERROR(q);
  }
  return Status::Ok();
}

}  // namespace parallelagram::driver
