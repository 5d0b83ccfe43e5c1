// ObjectStore: where staged files live between the driver and the workers.
//
// Inputs (--basefile, --transferfile) are stored content-addressed under cas/<sha256>, so a
// file used by many tasks or many jobs is stored once; workers fetch them by URI and verify
// the digest. Returned files are written by the worker under a per-task output prefix and
// brought back by the driver. Two stores: DirectoryObjectStore here (file:// URIs, which the
// local backend's workers read directly) and S3ObjectStore (s3_object_store.h, s3:// URIs).
//
// Keys are relative paths ("cas/ab12...", "jobs/JOB/results/7.json"); a store maps them to
// URIs under its root (a directory, or s3://BUCKET/PREFIX).
//
// Calls are synchronous and may block on I/O. Errors: IoError / NotFound / PermissionDenied
// naming the path or URI (and, for S3, AWS's error code); never a secret.
// Thread-safety: every method of both stores may be called from any thread, concurrently;
// counters() is a consistent-enough snapshot (each counter is atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aws/s3_requests.h"
#include "parallelagram/status.h"

namespace parallelagram::driver {

// An object found by List: its key relative to the store's root, and its size in bytes.
struct StoredObject {
  std::string key;
  int64_t size = 0;
};

// One file of a batch put.
struct PutRequest {
  std::string key;   // where to store it
  std::string path;  // the local file
};

// What happened to one PutRequest.
struct PutOutcome {
  Status status;          // OK, or why this file could not be stored
  std::string uri;        // the key's URI (set when OK)
  bool uploaded = false;  // false when OK: the object was already there (skipped)
  int64_t bytes = 0;      // the file's size
};

// What a store moved so far (since it was made).
struct TransferCounters {
  int64_t files_uploaded = 0;
  int64_t bytes_uploaded = 0;
  int64_t files_present = 0;  // puts skipped: the object was already stored
  int64_t bytes_present = 0;
  int64_t files_downloaded = 0;
  int64_t bytes_downloaded = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The URI of `key` (a relative path like "cas/ab12..."), as a worker fetches it.
  virtual std::string Uri(const std::string& key) const = 0;
  // Stores the content of local file `path` at `key`. A key under cas/ that already exists
  // (with the file's size) is kept and counted as present: cas/ keys are immutable. Other
  // keys are overwritten. Returns the key's URI. NotFound when `path` is not a readable file.
  virtual Result<std::string> PutFile(const std::string& key, const std::string& path) = 0;
  // PutFile for many files, with PutFile's rules, several in flight where the store can
  // (S3: up to 16; the directory store does them one by one). Returns one outcome per
  // request, in order; one file's failure does not stop the others.
  virtual std::vector<PutOutcome> PutFiles(const std::vector<PutRequest>& files) = 0;
  // Copies the object at `uri` (as returned by Uri or written by a worker) to local `dest`,
  // creating parent directories and replacing `dest`. Written to a temporary and renamed:
  // on any failure `dest` is left as it was (never a partial file). NotFound when the object
  // does not exist. S3: any s3:// URI (other buckets too).
  virtual Status GetFile(const std::string& uri, const std::string& dest) = 0;
  // Removes the object at `uri` (which must be inside the store); OK when it does not exist.
  virtual Status Delete(const std::string& uri) = 0;
  // Every object whose key starts with `prefix` (relative to the store's root, e.g.
  // "jobs/J/results/"), with sizes, in key order. S3: ListObjectsV2, one request per 1,000
  // keys. Objects being written (temporaries) are not listed.
  virtual Result<std::vector<StoredObject>> List(const std::string& prefix) = 0;

  // Stores `data` at `key` (PutFile's rules). The base writes a temporary file and calls
  // PutFile; a store may do better.
  virtual Result<std::string> PutBytes(const std::string& key, std::string_view data);
  // The size of the object at `uri` (S3: any bucket). NotFound when there is none. The base
  // (and the directory store, whose inputs are local files) says InvalidArgument.
  virtual Result<int64_t> Size(const std::string& uri);
  // Bytes [offset, offset + length) of the object at `uri`, fewer at its end ("" past it).
  // The base says InvalidArgument, as Size.
  virtual Result<std::string> ReadRange(const std::string& uri, int64_t offset, size_t length);

  TransferCounters counters() const;
  // The S3 requests this store sent so far, by price class (none for a directory store).
  virtual aws::S3RequestCounts s3_requests() const { return {}; }

 protected:
  void CountUpload(int64_t bytes);
  void CountPresent(int64_t bytes);
  void CountDownload(int64_t bytes);

 private:
  std::atomic<int64_t> files_up_{0}, bytes_up_{0}, files_present_{0}, bytes_present_{0},
      files_down_{0}, bytes_down_{0};
};

class DirectoryObjectStore : public ObjectStore {
 public:
  // `root` must be an absolute directory path; it is created on first write.
  explicit DirectoryObjectStore(std::string root);
  std::string Uri(const std::string& key) const override;
  Result<std::string> PutFile(const std::string& key, const std::string& path) override;
  std::vector<PutOutcome> PutFiles(const std::vector<PutRequest>& files) override;
  Status GetFile(const std::string& uri, const std::string& dest) override;
  Status Delete(const std::string& uri) override;
  Result<std::vector<StoredObject>> List(const std::string& prefix) override;
  Result<std::string> PutBytes(const std::string& key, std::string_view data) override;
  const std::string& root() const { return root_; }

 private:
  PutOutcome Put(const std::string& key, const std::string& path);
  // The local path of a file:// URI inside root, or InvalidArgument.
  Result<std::string> PathOf(const std::string& uri) const;
  std::string root_;
};

// True for the name of a temporary a store or worker writes before renaming it into place
// (".pgtmp." inside the last path component); List skips them.
bool IsStoreTemporary(const std::string& key);

}  // namespace parallelagram::driver
