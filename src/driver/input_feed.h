// InputFeed: a job's tasks as its inputs arrive. The sources combine as GNU parallel combines
// them (inputs.h): the cartesian product (the last source varying fastest) or, with --link,
// pairwise. Every source but the last is read whole first; the last one may stream (a `::::`
// file or stdin, read line by line by a LineStream on its own thread), so the first task
// can start as soon as its input line is read, and memory holds only what is waiting, not
// the whole input (the streamed values are kept only when a later combination needs them
// again: several sources).
//
// Thread-safety: LineStream's reader thread only fills its bounded queue (and calls the
// recorder); everything else is for one thread (the driver's loop thread, or the caller's
// for a dry run).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "driver/arg_shaping.h"
#include "driver/inputs.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// Reads one value per line (the rules of ReadInputStream) from a file or stdin on a thread
// of its own, into a queue of at most `capacity` lines. The reader waits when the queue is
// full and is woken when it is down to half, so reader and consumer meet once per
// capacity/2 lines, not once per line.
class LineStream {
 public:
  // Opens `path` ("-": stdin); reading starts at the first TryPop or Pop.
  // NotFound/PermissionDenied/IoError naming the file when it cannot be opened.
  // `delimiter` ends a value ('\n': a '\r' before it is dropped too).
  static Result<std::unique_ptr<LineStream>> Open(const std::string& path, size_t capacity,
                                                  char delimiter = '\n');
  ~LineStream();
  LineStream(const LineStream&) = delete;
  LineStream& operator=(const LineStream&) = delete;

  // Called on the reader thread with the lines of each read, before any of them can be
  // popped, and with the line count at the end: what is read is recorded even if it is
  // never popped (a job killed while reading stdin loses nothing it took from the pipe).
  // Set before the first TryPop/Pop.
  void SetRecorder(std::function<void(const std::vector<std::string>&)> lines,
                   std::function<void(int64_t count)> end);
  // `on_ready` (called on the reader thread) when a line or the end becomes available after
  // TryPop said kWait. Set before the first TryPop/Pop.
  void SetOnReady(std::function<void()> on_ready) { on_ready_ = std::move(on_ready); }

  enum class Got { kLine, kWait, kEnd };
  // The next line without waiting.
  Got TryPop(std::string* line);
  // The next line, waiting for it (kLine or kEnd).
  Got Pop(std::string* line);
  // A read error, once kEnd was returned (OK for a clean end of file).
  Status error() const;

 private:
  LineStream(int fd, bool owned, std::string origin, size_t capacity, char delimiter);
  void StartReading();
  void ReadLoop();
  void Push(std::vector<std::string>& lines);
  // After a pop that left `left` lines: whether to wake the reader.
  bool WakesReader(size_t left) const { return left == capacity_ / 2; }

  int fd_;
  bool owned_;
  std::string origin_;
  size_t capacity_;
  char delimiter_;
  std::function<void()> on_ready_;
  std::function<void(const std::vector<std::string>&)> on_lines_;
  std::function<void(int64_t)> on_end_;
  bool started_ = false;  // the consumer's thread only
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::string> lines_;
  bool ended_ = false, stop_ = false, waiter_ = false;
  Status error_;
  std::thread reader_;
};

class InputFeed {
 public:
  // `sources`: the job's sources in order; values of a source with a non-empty stream_path
  // (only the last may have one) are read from it by a LineStream. Errors: LineStream::Open's.
  // `shaping` (when active): the values go through arg_shaping.h's pipeline (header, -E,
  // continued lines per source; columns and trimming per record; grouping into tasks).
  static Result<std::unique_ptr<InputFeed>> Open(std::vector<InputSource> sources, bool link,
                                                 ArgShaping shaping = {});

  enum class Next { kTask, kWait, kEnd };
  // The next task's values (one per source; shaped: the task's values, flattened), in GNU
  // parallel's order. `block`: wait for a streamed line instead of answering kWait.
  Next Pull(std::vector<std::string>* values, bool block = false);

  // The streamed source's values are given to `values` as they are read (on the reader
  // thread, in order, before any task using them is returned), and its value count to
  // `end` when it ends: LineStream::SetRecorder. Set before the first Pull.
  void SetRecorder(std::function<void(const std::vector<std::string>&)> values,
                   std::function<void(int64_t count)> end) {
    if (stream_) stream_->SetRecorder(std::move(values), std::move(end));
  }

  // `wake` (any thread) when a streamed value or the end arrives after Pull said kWait:
  // LineStream::SetOnReady. Set before the first Pull.
  void SetWake(std::function<void()> wake) {
    if (stream_) stream_->SetOnReady(std::move(wake));
  }

  int num_sources() const { return static_cast<int>(sources_.size()); }
  bool streaming() const { return stream_ != nullptr; }
  // The task count when it is known (no stream, or the stream ended); else -1.
  int64_t known_total() const;
  // The sources' origins, for messages ("stdin", a file name, "::: source 1").
  const std::vector<InputSource>& sources() const { return sources_; }
  // The streamed source's read error, once Pull said kEnd (OK otherwise).
  Status error() const { return stream_ ? stream_->error() : Status::Ok(); }

 private:
  InputFeed(std::vector<InputSource> sources, bool link)
      : sources_(std::move(sources)), link_(link) {}
  // Reads the next streamed value into the last source; kLine, kWait or kEnd.
  LineStream::Got ReadStreamed(bool block);
  // The next record: one value per source, combined.
  Next PullRecord(std::vector<std::string>* values, bool block);
  std::vector<std::string> ValuesAt(int64_t index) const;

  std::vector<InputSource> sources_;  // the last one grows while it streams
  bool link_;
  std::unique_ptr<LineStream> stream_;  // null: every source is whole
  bool keep_streamed_ = false;          // a later combination reuses the streamed values
  int64_t streamed_ = 0;                // values read from the stream
  bool stream_ended_ = false;
  int64_t next_ = 0;        // the next task's 0-based index
  std::string last_value_;  // the latest streamed value (when not kept)
  // Shaping (arg_shaping.h); inactive: records are tasks.
  ArgShaping shaping_;
  std::unique_ptr<SourceValueFilter> stream_filter_;  // step 1 for the streamed source
  bool filter_ended_ = false;                         // -E ended the streamed source
  std::unique_ptr<ArgGrouper> grouper_;
  bool records_ended_ = false;
  int64_t emitted_ = 0;  // shaped tasks returned
};

}  // namespace parallelagram::driver
