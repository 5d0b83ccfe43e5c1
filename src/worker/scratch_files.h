// ScratchFiles: places a task's input files in its scratch directory and stores its returned
// files afterwards (docs/protocol.md, "Staged files").
//
// Inputs are fetched through Blobs, verified (size when non-zero, sha256 when given) and
// given mode 0755 (executable) or 0644. An input with cache=true and a sha256 is fetched
// once per execution environment into `cache_dir`/<sha256>[.x] (read-only) and then
// hard-linked into each scratch directory (copied when linking fails). A cache entry whose
// size or mtime changed since it was stored (a task wrote through its link) is fetched
// again. Not thread-safe; one per worker.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "parallelagram/status.h"
#include "parallelagram/task.h"
#include "worker/blob_store.h"

namespace parallelagram {

// OK when `rel` is a non-empty relative path without "." or ".." components, so that it
// stays inside the directory it is joined to. InvalidArgument naming `what` otherwise.
Status CheckRelativePath(const std::string& rel, const std::string& what);

class ScratchFiles {
 public:
  // `blobs` is borrowed and must outlive the ScratchFiles.
  ScratchFiles(Blobs* blobs, std::string cache_dir);

  // Places every file under `scratch`. The first failure is returned, saying which file
  // and why (NotFound, IoError, InvalidArgument for a bad path or a digest mismatch).
  Status PlaceInputs(const std::vector<StagedFile>& files, const std::string& scratch);

  // Stores each existing `returns` path of `scratch` at output_uri + "/" + path and
  // describes it (missing=true when the task did not produce it). Fails on the first
  // file that cannot be stored, or when returns are asked for without an output_uri.
  Result<std::vector<ReturnedFile>> StoreReturns(const std::vector<std::string>& returns,
                                                 const std::string& scratch,
                                                 const std::string& output_uri);

  // How many cache entries were fetched (not reused) so far; for tests and logs.
  int cache_fetches() const { return cache_fetches_; }

 private:
  struct CacheEntry {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
  };
  Status FetchVerified(const StagedFile& f, const std::string& dest);
  Status StageCached(const StagedFile& f, const std::string& dest);

  Blobs* blobs_;
  std::string cache_dir_;
  std::map<std::string, CacheEntry> cache_;  // by cache file name
  int cache_fetches_ = 0;
};

}  // namespace parallelagram
