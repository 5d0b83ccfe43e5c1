// Staging: the driver's side of a task's inputs: --basefile and --transferfile inputs (and
// bundled executables) uploaded to an ObjectStore, all up front, before any task is
// dispatched. (The worker's side, placing them in a task's directory, is ScratchFiles.)
//
// Paths given on the command line must be relative to the current directory and stay inside
// it (no absolute paths, no ".."): the task then finds each file at the same relative path in
// its scratch directory, locally and on Lambda alike. A basefile may be a directory (shipped
// file by file). Inputs are stored content-addressed (cas/<sha256>); basefiles carry
// cache=true so a worker fetches them once per execution environment (and verifies them).
//
// Inputs already in S3: a --transferfile value that is an s3:// URI ("s3://b/data/x.csv",
// e.g. an input line used with --transferfile {}) is not copied. The task's event carries the
// URI itself (no sha256: the worker fetches it without verifying a digest), and the task finds
// the file at the relative path "s3:/b/data/x.csv" -- the same string as the URI once the
// kernel folds "//" into "/", so a command such as `wc -l {}` opens it unchanged. Such a URI
// must not hold "." or ".." path components.
//
// Bundling (StagingOptions::bundle, turned on by the AWS backend): the command's program when
// it is a relative path to an executable inside the current directory ("./mytool",
// "bin/tool"), and every --bundle-exe path, are shipped with their shared-library closure
// (deploy::BundleExecutable) under DIR/.pgbundle-NAME/, and a small /bin/sh launcher takes
// the program's own path DIR/NAME, so the task runs it unchanged on Amazon Linux. A static
// program is shipped as it is. The bundle's files are basefiles (cached by the worker).
//
// Add* only collect and check; Commit() hashes everything and stores it through
// ObjectStore::PutFiles (HEAD-before-upload and parallel transfers on S3). Everything that
// can fail on the driver's side fails the run naming the path, before any task runs.
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

// True for "s3://..." (an input used in place, never copied).
bool IsS3Uri(const std::string& p);

// The relative path at which a task finds the s3:// input `uri` ("s3:/BUCKET/KEY"), or
// InvalidArgument when the URI is malformed or has "." or ".." components.
Result<std::string> S3InputPath(const std::string& uri);

// "512 bytes", "12.0 kB", "12.0 MB", "1.5 GB" (decimal units).
std::string FormatBytes(int64_t bytes);

struct StagingOptions {
  // Bundle local executables with their shared-library closure (the AWS backend; the local
  // backend runs tasks on this machine and needs none).
  bool bundle = false;
  std::vector<std::string> bundle_exes;  // --bundle-exe paths (relative, inside the cwd)
  std::string program;   // the command's program as written; bundled when it is a relative
                         // path with a '/' to an executable file inside the cwd
  std::string work_dir;  // where bundle files are written before they are stored
  std::string where = "the store";  // for the summary: "already in S3"
  bool report = false;              // `run` prints SummaryLine() on stderr (unless --quiet)
};

class Staging {
 public:
  explicit Staging(ObjectStore& store, StagingOptions options = {})
      : store_(store), options_(std::move(options)) {}

  // Adds every basefile (file or directory). NotFound naming the path when one is missing.
  Status AddBasefiles(const std::vector<std::string>& paths);
  // Adds the per-task file `path` (already expanded), once per distinct path. An s3:// URI
  // is used in place (see above).
  Status AddTransferFile(const std::string& path);
  // Bundles (when asked), hashes and stores everything added. Fails with the first file that
  // cannot be read, bundled or stored, naming it. Called again (a job whose inputs stream),
  // stores only the transfer files added since.
  Status Commit();

  // The files of a task: every basefile, then its transfer files (paths given to
  // AddTransferFile before). Valid after Commit().
  std::vector<StagedFile> FilesFor(const std::vector<std::string>& transfer_paths) const;

  // URIs of the objects stored for transfer files (for --cleanup); s3:// inputs used in
  // place are never among them.
  std::vector<std::string> TransferUris() const;

  // What Commit() did.
  struct Summary {
    int64_t files = 0;  // distinct objects stored or found
    int64_t files_uploaded = 0;
    int64_t bytes_uploaded = 0;
    int64_t files_present = 0;  // already in the store: not uploaded
    int64_t bytes_present = 0;
    int64_t in_place = 0;  // s3:// inputs used in place
    int64_t bundled = 0;   // executables bundled
  };
  const Summary& summary() const { return summary_; }
  // One line for stderr: "staged 3 files (12.0 MB uploaded, 2 files / 40.0 MB already in
  // S3)"; "" when nothing was staged.
  std::string SummaryLine() const;

 private:
  struct Pending {
    std::string rel;  // path in the task's directory
    std::string src;  // local file
    bool cache = false;
  };
  Status AddBasefile(const std::string& rel, const std::string& src);
  Status AddBundles();
  Status BundleOne(const std::string& rel);

  ObjectStore& store_;
  StagingOptions options_;
  std::vector<Pending> base_pending_;
  std::map<std::string, Pending> transfer_pending_;  // by normalised path
  std::vector<StagedFile> base_;
  std::map<std::string, StagedFile> transfer_;  // by normalised path (or the s3:// URI)
  Summary summary_;
  bool committed_ = false;
};

}  // namespace parallelagram::driver
