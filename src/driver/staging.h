// Staging of --basefile and --transferfile inputs and --return outputs through an ObjectStore.
//
// Paths given on the command line must be relative to the current directory and stay inside
// it (no absolute paths, no ".."): the task then finds each file at the same relative path in
// its scratch directory, locally and on Lambda alike. A basefile may be a directory (shipped
// file by file). Inputs are stored content-addressed (cas/<sha256>); basefiles carry
// cache=true so a worker fetches them once per execution environment.
//
// Everything that can fail on the driver's side is checked up front by Prepare(): a missing
// or unreadable file fails the run naming the path, before any task is dispatched.
// Thread-safety: not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "driver/object_store.h"
#include "parallelagram/status.h"
#include "parallelagram/task.h"

namespace parallelagram::driver {

// Checks that `p` is relative and stays inside the current directory; returns it normalised.
// InvalidArgument naming `what` (e.g. "--transferfile") otherwise.
Result<std::string> NormaliseRelative(const std::string& p, const std::string& what);

class Staging {
 public:
  explicit Staging(ObjectStore& store) : store_(store) {}

  // Stores every basefile (file or directory). NotFound naming the path when one is missing.
  Status AddBasefiles(const std::vector<std::string>& paths);
  // Stores the per-task file `path` (already expanded), once per distinct path.
  Status AddTransferFile(const std::string& path);

  // The files of a task: every basefile, then its transfer files (paths given to
  // AddTransferFile before).
  std::vector<StagedFile> FilesFor(const std::vector<std::string>& transfer_paths) const;

  // URIs of the objects stored for transfer files (for --cleanup).
  std::vector<std::string> TransferUris() const;
  int64_t bytes_staged() const { return bytes_; }

 private:
  Result<StagedFile> Store(const std::string& rel, const std::string& src, bool cache);
  ObjectStore& store_;
  std::vector<StagedFile> base_;
  std::map<std::string, StagedFile> transfer_;  // by normalised path
  int64_t bytes_ = 0;
};

}  // namespace parallelagram::driver
