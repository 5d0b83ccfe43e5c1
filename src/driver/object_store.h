// ObjectStore: where staged files live between the driver and the workers.
//
// Inputs (--basefile, --transferfile) are stored content-addressed under cas/<sha256>, so a
// file used by many tasks or many jobs is stored once; workers fetch them by URI and verify
// the digest. Returned files are written by the worker under a per-task output prefix and
// brought back by the driver. The real store here is a directory (file:// URIs, which the
// local backend's workers read directly); S3 (s3:// URIs) comes with the AWS backend.
//
// Calls are synchronous and may block on I/O. Errors: IoError / NotFound naming the path.
// Thread-safety: DirectoryObjectStore may be used from several threads (it only touches the
// file system, writing through temporary files renamed into place).
#pragma once

#include <string>

#include "parallelagram/status.h"

namespace parallelagram::driver {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The URI of `key` (a relative path like "cas/ab12..."), as a worker fetches it.
  virtual std::string Uri(const std::string& key) const = 0;
  // Stores the content of local file `path` at `key` unless `key` already exists (keys under
  // cas/ are immutable). Returns the key's URI.
  virtual Result<std::string> PutFile(const std::string& key, const std::string& path) = 0;
  // Copies the object at `uri` (as returned by Uri or written by a worker) to local `dest`,
  // creating parent directories and replacing `dest`. NotFound when it does not exist.
  virtual Status GetFile(const std::string& uri, const std::string& dest) = 0;
  // Removes the object at `uri`; OK when it does not exist.
  virtual Status Delete(const std::string& uri) = 0;
};

class DirectoryObjectStore : public ObjectStore {
 public:
  // `root` must be an absolute directory path; it is created on first write.
  explicit DirectoryObjectStore(std::string root);
  std::string Uri(const std::string& key) const override;
  Result<std::string> PutFile(const std::string& key, const std::string& path) override;
  Status GetFile(const std::string& uri, const std::string& dest) override;
  Status Delete(const std::string& uri) override;
  const std::string& root() const { return root_; }

 private:
  // The local path of a file:// URI inside root, or InvalidArgument.
  Result<std::string> PathOf(const std::string& uri) const;
  std::string root_;
};

}  // namespace parallelagram::driver
