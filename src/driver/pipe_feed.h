// PipeFeed: `run --pipe` and `run --pipe-part` as a job's TaskSource. Each block (cut by
// BlockSplitter as GNU parallel cuts it) is one task, whose stdin is the block (after the
// --header, when there is one). Blocks travel through the job's object store, not the event,
// so Lambda's payload limits do not bind them:
//   --pipe: stdin is read once, streaming, on a thread of its own, and a second one stores the
//     blocks (hashing and writing overlap reading and cutting): on S3 at
//     jobs/JOB/blocks/<sha256> (content-addressed within the job; the worker verifies it), in
//     the local backend's directory store at jobs/JOB/blocks/n<N> (the worker reads it in
//     place on this machine, so a digest would check nothing). The reader stays at most
//     `lookahead` blocks ahead of the tasks, so memory holds a few blocks whatever the input's
//     size.
//   --pipe-part FILE: the split points are found by reading only around each multiple of the
//     block size. A local file is used in place by the local backend (each worker reads its
//     own byte range) and stored block by block for Lambda; an s3:// object is never copied:
//     the driver reads a few KB around each split point (ranged GETs) and each worker fetches
//     its own byte range.
// The header, when there is one, is stored once and staged before each block.
// A task's input values are {""} ({} is empty, as in GNU parallel); {#} numbers the blocks.
// Thread-safety: Pull/SetStore/StoredObjects on the job's loop thread; the reader thread only
// fills the queue and calls the wake function.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "driver/block_splitter.h"
#include "driver/job.h"
#include "driver/object_store.h"

namespace parallelagram::driver {

struct PipeOptions {
  BlockRules rules;
  bool part = false;        // --pipe-part
  std::string input = "-";  // --pipe: "-" (stdin); --pipe-part: a local file or s3:// URI
  int64_t part_slices = 0;  // --pipe-part --block -K: K blocks per job slot (size from the file)
  int jobs = 1;             // job slots (for --block -K)
  int input_fd = 0;         // --pipe's input (tests give a pipe); not owned
  size_t lookahead = 4;     // blocks stored ahead of the tasks
  // An s3:// --pipe-part input is read (size, bytes around split points) through this store
  // (one on the input's bucket); null: through the job's. Not owned; outlives the feed.
  ObjectStore* input_store = nullptr;
  int64_t input_size = -1;  // an s3:// input's size when the caller has it (-1: ask the store)
  // --pipe-part: find every split point in Open (the task count is then known: a resume
  // needs it) rather than on the reader thread as the tasks start.
  bool split_up_front = false;
};

class PipeFeed : public TaskSource {
 public:
  // Checks the options (BlockSplitter::Make; a --pipe-part input that is missing or not a
  // seekable file): one-line InvalidArgument / NotFound naming the option.
  static Result<std::unique_ptr<PipeFeed>> Open(PipeOptions options);
  ~PipeFeed() override;

  void SetStore(ObjectStore* store, const std::string& job_id) override {
    store_ = store;
    job_id_ = job_id;
  }
  Next Pull(SourcedTask* task) override;
  void SetWake(std::function<void()> wake) override;
  int64_t known_total() const override;
  Status error() const override;
  std::vector<std::string> StoredObjects() const override;

  // Where the relative paths of a task's stdin parts point in its scratch directory.
  static constexpr const char* kHeaderPath = ".pg-pipe/header";
  static constexpr const char* kBlockPath = ".pg-pipe/block";

 private:
  explicit PipeFeed(PipeOptions o) : o_(std::move(o)) {}
  void ReadLoop();
  Status ReadStdin();
  Status ReadParts();
  // --pipe-part: the split points (and the header) of the input.
  Status Split();
  Result<std::string> ReadAt(int64_t offset, size_t length);
  // Stores (or describes in place) one block and queues its task; waits while the queue is
  // full. Cancelled when the feed is being destroyed.
  Status Queue(std::vector<StagedFile> parts);
  Result<StagedFile> StoreBytes(std::string_view data, const std::string& path);
  Result<std::vector<StagedFile>> HeaderPart(const std::string& header);

  PipeOptions o_;
  std::unique_ptr<BlockSplitter> splitter_;
  ObjectStore* store_ = nullptr;
  std::string job_id_;
  bool local_store_ = false;  // the job's store is a directory here (the local backend)
  bool in_place_ = false;     // --pipe-part of a local file on the local backend
  int64_t stored_count_ = 0;  // blocks stored (the store thread's)
  bool split_ = false;        // --pipe-part: positions_ and part_header_ are known
  std::vector<int64_t> positions_;
  std::string part_header_;
  int part_fd_ = -1;  // --pipe-part of a local file
  std::string header_uri_;
  StagedFile header_file_;
  bool started_ = false;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::deque<SourcedTask> queue_;
  bool ended_ = false, stop_ = false, waiting_ = false;
  int64_t queued_ = 0;
  std::atomic<int64_t> total_{-1};
  Status error_;
  std::vector<std::string> stored_;
  std::function<void()> wake_;
};

}  // namespace parallelagram::driver
