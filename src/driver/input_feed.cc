#include "driver/input_feed.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace parallelagram::driver {

// ---- LineStream ----

Result<std::unique_ptr<LineStream>> LineStream::Open(const std::string& path, size_t capacity,
                                                     char delimiter) {
  int fd = 0;
  bool owned = false;
  std::string origin = "stdin";
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      PG_RETURN_IF_ERROR(CheckInputFile(path));  // names the file and the reason
      return Status::IoError("cannot read input file '" + path + "'");
    }
    owned = true;
    origin = path;
  }
  return std::unique_ptr<LineStream>(
      new LineStream(fd, owned, std::move(origin), std::max<size_t>(1, capacity), delimiter));
}

LineStream::LineStream(int fd, bool owned, std::string origin, size_t capacity, char delimiter)
    : fd_(fd),
      owned_(owned),
      origin_(std::move(origin)),
      capacity_(capacity),
      delimiter_(delimiter) {}

LineStream::~LineStream() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  not_full_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (owned_) ::close(fd_);
}

void LineStream::SetRecorder(std::function<void(const std::vector<std::string>&)> lines,
                             std::function<void(int64_t)> end) {
  on_lines_ = std::move(lines);
  on_end_ = std::move(end);
}

void LineStream::StartReading() {
  if (started_) return;
  started_ = true;
  reader_ = std::thread([this] { ReadLoop(); });
}

void LineStream::Push(std::vector<std::string>& lines) {
  size_t i = 0;
  while (i < lines.size()) {
    std::function<void()> wake;
    {
      std::unique_lock<std::mutex> l(mu_);
      not_full_.wait(l, [&] { return stop_ || lines_.size() < capacity_; });
      if (stop_) return;
      while (i < lines.size() && lines_.size() < capacity_) lines_.push_back(std::move(lines[i++]));
      if (waiter_) {
        waiter_ = false;
        wake = on_ready_;
      }
    }
    not_empty_.notify_one();
    if (wake) wake();
  }
}

void LineStream::ReadLoop() {
  std::string line;
  std::vector<std::string> batch;
  int64_t count = 0;
  char buf[65536];
  Status err;
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stop_) return;
    }
    // Wait in slices so that the destructor can stop a reader blocked on a quiet pipe.
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, 100);
    if (pr == 0) continue;
    if (pr < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      err = Status::IoError("cannot read the inputs from " + origin_ + ": " + std::strerror(errno));
      break;
    }
    if (n == 0) break;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != delimiter_) continue;
      line.append(buf + start, i - start);
      start = i + 1;
      if (delimiter_ == '\n' && !line.empty() && line.back() == '\r') line.pop_back();
      batch.push_back(std::move(line));
      line.clear();
    }
    line.append(buf + start, static_cast<size_t>(n) - start);
    if (batch.empty()) continue;
    count += static_cast<int64_t>(batch.size());
    if (on_lines_) on_lines_(batch);  // recorded before it can be popped
    Push(batch);
    batch.clear();
  }
  if (!line.empty()) {
    if (delimiter_ == '\n' && line.back() == '\r') line.pop_back();
    batch.push_back(std::move(line));
    ++count;
    if (on_lines_) on_lines_(batch);
    Push(batch);
  }
  // Not after a stop (the consumer is gone) nor a read error (the count is not final).
  bool stopped = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopped = stop_;
  }
  if (on_end_ && err.ok() && !stopped) on_end_(count);
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    ended_ = true;
    error_ = err;
    if (waiter_) {
      waiter_ = false;
      wake = on_ready_;
    }
  }
  not_empty_.notify_all();
  if (wake) wake();
}

LineStream::Got LineStream::TryPop(std::string* line) {
  StartReading();
  bool freed = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (lines_.empty()) {
      if (ended_) return Got::kEnd;
      waiter_ = true;
      return Got::kWait;
    }
    *line = std::move(lines_.front());
    lines_.pop_front();
    freed = WakesReader(lines_.size());
  }
  if (freed) not_full_.notify_one();
  return Got::kLine;
}

LineStream::Got LineStream::Pop(std::string* line) {
  StartReading();
  bool freed = false;
  {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return ended_ || !lines_.empty(); });
    if (lines_.empty()) return Got::kEnd;
    *line = std::move(lines_.front());
    lines_.pop_front();
    freed = WakesReader(lines_.size());
  }
  if (freed) not_full_.notify_one();
  return Got::kLine;
}

Status LineStream::error() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

// ---- InputFeed ----

Result<std::unique_ptr<InputFeed>> InputFeed::Open(std::vector<InputSource> sources, bool link,
                                                   ArgShaping shaping) {
  std::string stream_path;
  if (!sources.empty() && !sources.back().stream_path.empty()) {
    stream_path = sources.back().stream_path;
  }
  for (size_t k = 0; k + 1 < sources.size(); ++k) {
    if (!sources[k].stream_path.empty()) {
      return Status::Internal("only the last input source can stream");
    }
  }
  std::unique_ptr<InputFeed> feed(new InputFeed(std::move(sources), link));
  if (!stream_path.empty()) {
    // A few thousand lines of look-ahead: enough to keep any -j busy, little memory.
    PG_ASSIGN_OR_RETURN(feed->stream_,
                        LineStream::Open(stream_path, 4096, feed->sources_.back().delimiter));
    feed->keep_streamed_ = feed->sources_.size() > 1;
  }
  if (shaping.active) {
    feed->shaping_ = std::move(shaping);
    for (InputSource& s : feed->sources_) {
      if (s.stream_path.empty()) s.values = FilterSource(feed->shaping_, s.values);
    }
    if (feed->stream_) feed->stream_filter_ = std::make_unique<SourceValueFilter>(feed->shaping_);
    feed->grouper_ = std::make_unique<ArgGrouper>(feed->shaping_);
    if (!feed->stream_) {  // every task now: the total is known
      std::vector<std::string> record;
      while (feed->PullRecord(&record, true) == Next::kTask) {
        feed->grouper_->Add(ShapeRecord(feed->shaping_, record));
      }
      feed->records_ended_ = true;
      feed->grouper_->End();
    }
  }
  return feed;
}

int64_t InputFeed::known_total() const {
  if (grouper_) {
    return records_ended_ ? emitted_ + static_cast<int64_t>(grouper_->ready()) : -1;
  }
  if (stream_ && !stream_ended_) return -1;
  if (stream_ && !keep_streamed_) return streamed_;  // one source: each value one task
  return CountTasks(sources_, link_);
}

LineStream::Got InputFeed::ReadStreamed(bool block) {
  std::string v;
  for (;;) {
    if (filter_ended_) {
      stream_ended_ = true;
      return LineStream::Got::kEnd;
    }
    std::string raw;
    LineStream::Got g = block ? stream_->Pop(&raw) : stream_->TryPop(&raw);
    if (g == LineStream::Got::kWait) return g;
    if (g == LineStream::Got::kEnd) {
      if (stream_filter_ && stream_filter_->Flush(&v)) break;  // a continued line held
      stream_ended_ = true;
      return g;
    }
    if (!stream_filter_) {
      v = std::move(raw);
      break;
    }
    SourceValueFilter::Got f = stream_filter_->Feed(std::move(raw), &v);
    filter_ended_ = stream_filter_->ended();
    if (f == SourceValueFilter::Got::kValue) break;
    // kMore (a header, a continued line): read on; kEnd: filter_ended_ says so above
  }
  ++streamed_;
  if (keep_streamed_) {
    sources_.back().values.push_back(std::move(v));
  } else {
    last_value_ = std::move(v);
  }
  return LineStream::Got::kLine;
}

std::vector<std::string> InputFeed::ValuesAt(int64_t index) const {
  return TaskValues(sources_, link_, index);
}

InputFeed::Next InputFeed::Pull(std::vector<std::string>* values, bool block) {
  if (!grouper_) return PullRecord(values, block);
  for (;;) {
    if (grouper_->Next(values)) {
      ++emitted_;
      return Next::kTask;
    }
    if (records_ended_) return Next::kEnd;
    std::vector<std::string> record;
    Next n = PullRecord(&record, block);
    if (n == Next::kWait) return n;
    if (n == Next::kEnd) {
      records_ended_ = true;
      grouper_->End();
      continue;
    }
    grouper_->Add(ShapeRecord(shaping_, record));
  }
}

InputFeed::Next InputFeed::PullRecord(std::vector<std::string>* values, bool block) {
  if (!stream_) {
    if (next_ >= CountTasks(sources_, link_)) return Next::kEnd;
    *values = ValuesAt(next_++);
    return Next::kTask;
  }
  if (!keep_streamed_) {  // one source, streamed: each line is one task
    if (stream_ended_) return Next::kEnd;
    LineStream::Got g = ReadStreamed(block);
    if (g == LineStream::Got::kWait) return Next::kWait;
    if (g == LineStream::Got::kEnd) return Next::kEnd;
    values->assign(1, last_value_);
    ++next_;
    return Next::kTask;
  }
  // Several sources, the last one streamed. Task `next_` needs streamed value number
  // (link: next_; product: next_ % |last| for the first combination of the others) --
  // while the stream has not ended, the first combination takes the values as they come.
  const size_t last = sources_.size() - 1;
  for (;;) {
    const auto have = static_cast<int64_t>(sources_[last].values.size());
    if (stream_ended_) {
      if (next_ >= CountTasks(sources_, link_)) return Next::kEnd;
      *values = ValuesAt(next_++);
      return Next::kTask;
    }
    // Before the end, only tasks whose streamed value is already read can be made, and
    // only the first combination of the other sources (or, linked, the next index).
    if (next_ < have) {
      // Index next_ < |last so far| is (0, ..., 0, next_) in the product (and next_ of every
      // source, recycled, linked) whatever the last source's final size.
      for (size_t s = 0; s < last; ++s) {
        if (sources_[s].values.empty()) return Next::kEnd;  // no combination at all
      }
      *values = ValuesAt(next_++);
      return Next::kTask;
    }
    LineStream::Got g = ReadStreamed(block);
    if (g == LineStream::Got::kWait) return Next::kWait;
  }
}

}  // namespace parallelagram::driver
