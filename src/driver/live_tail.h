// LiveTail: the driver's end of TaskEvent::live_output on the local backend (--line-buffer,
// --ungroup). For each running attempt it creates DIR/NAME.stdout and DIR/NAME.stderr, which
// the worker (on this machine) appends the process's output to as it reads it, and reads
// what they gained whenever Poll() is called (the job calls it from its loop on a timer: no
// thread, no blocking). The bytes go to the sink in the order they were read per stream.
// Errors: a file that cannot be created makes Open() fail (the job then runs the attempt
// without a live copy); a read error closes that stream's tail silently (the task's result
// still carries its whole output).
// Not thread-safe; loop thread only. Files left open are closed and removed by the destructor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

class LiveTail {
 public:
  // `sink(seq, is_stderr, data)`: `data` (never empty) is what task `seq` wrote next.
  using Sink = std::function<void(int64_t seq, bool is_stderr, const std::string& data)>;
  // `dir` must exist and be writable.
  LiveTail(std::string dir, Sink sink) : dir_(std::move(dir)), sink_(std::move(sink)) {}
  ~LiveTail();
  LiveTail(const LiveTail&) = delete;
  LiveTail& operator=(const LiveTail&) = delete;

  // Creates (empty) DIR/NAME.stdout and DIR/NAME.stderr for an attempt of task `seq` and
  // returns DIR/NAME, the event's live_output. An earlier attempt's tail of `seq` still open
  // is read to its end and closed first.
  Result<std::string> Open(int64_t seq, const std::string& name);
  // Hands the sink what every open tail gained since the last read.
  void Poll();
  // Reads the rest of task `seq`'s tail (the attempt answered: the worker wrote it all), then
  // closes and removes its files. Nothing when `seq` has no open tail.
  void Close(int64_t seq);
  size_t open_count() const { return tails_.size(); }

 private:
  struct Tail {
    std::string prefix;
    int fds[2] = {-1, -1};
  };
  void Read(int64_t seq, Tail& t);
  void Drop(Tail& t);

  std::string dir_;
  Sink sink_;
  std::map<int64_t, Tail> tails_;
};

}  // namespace parallelagram::driver
