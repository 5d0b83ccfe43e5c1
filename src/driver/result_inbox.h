// ResultInbox: where the results of async (Event) invocations land: one object per task
// attempt, written by the worker under the job's result prefix. The driver learns of results
// by listing that prefix (one request per 1,000 objects), never by asking per pending task.
//
// Two implementations: S3ResultInbox (ListObjectsV2 + parallel GETs + DeleteObjects on the
// driver's loop) and DirectoryResultInbox (the local backend's directory store).
//
// Contract: Poll's `done` is called exactly once, on the loop thread, never from inside
// Poll(); only one Poll is in flight at a time. Remove() is best effort (errors are ignored:
// a stale object costs one more listing entry, never a wrong result).
// Thread-safety: loop thread only. Lifetime: borrows what its constructor is given.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "driver/invoker.h"
#include "parallelagram/status.h"

namespace parallelagram::aws {
class S3Client;
}

namespace parallelagram::driver {

class ResultInbox {
 public:
  struct Item {
    std::string name;  // the object's name below the prefix, e.g. "17.3.json"
    std::string body;  // its content, read only when wanted(name)
    bool read = false;
  };
  using Wanted = std::function<bool(const std::string& name)>;

  virtual ~ResultInbox() = default;
  // The URI a worker writes result `name` to.
  virtual std::string Uri(const std::string& name) const = 0;
  // Lists every object under the prefix and reads those `wanted` accepts.
  virtual void Poll(Wanted wanted, std::function<void(Result<std::vector<Item>>)> done) = 0;
  // Deletes the named objects.
  virtual void Remove(std::vector<std::string> names) = 0;
};

// Results in a directory (file:// URIs), as the local backend's workers write them.
class DirectoryResultInbox : public ResultInbox {
 public:
  DirectoryResultInbox(std::string dir, Timers& timers) : dir_(std::move(dir)), timers_(timers) {}
  std::string Uri(const std::string& name) const override;
  void Poll(Wanted wanted, std::function<void(Result<std::vector<Item>>)> done) override;
  void Remove(std::vector<std::string> names) override;

 private:
  std::string dir_;
  Timers& timers_;
};

// Results under s3://bucket/prefix/ (prefix ends with '/').
class S3ResultInbox : public ResultInbox {
 public:
  S3ResultInbox(aws::S3Client& s3, std::string bucket, std::string prefix, int max_parallel_gets = 32);
  ~S3ResultInbox() override;
  std::string Uri(const std::string& name) const override;
  void Poll(Wanted wanted, std::function<void(Result<std::vector<Item>>)> done) override;
  void Remove(std::vector<std::string> names) override;

 private:
  struct PollState;
  void PumpGets(std::shared_ptr<PollState> st);
  aws::S3Client& s3_;
  std::string bucket_;
  std::string prefix_;
  int max_parallel_gets_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parallelagram::driver
