// Zip packages of Lambda functions: building one (for tests, the driver and benchmarks)
// and unpacking one into an environment's code directory. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::os {

struct ZipEntry {
  std::string name;  // path inside the zip ("bootstrap", "lib/x.so"); "dir/" = directory
  std::string content;
  uint32_t mode = 0644;  // Unix permission bits, stored in the external attributes
  bool compress = true;  // deflate; false stores the bytes as they are (fast to unpack)
};

// Every entry gets this modification time (2000-01-01T00:00:00Z), so that the same entries
// always give byte-identical zips (and the same Lambda CodeSha256).
inline constexpr int64_t kZipEntryMtime = 946684800;

// The bytes of a zip holding `entries`, in that order; deterministic. Errors: Internal (libzip
// failure).
Result<std::string> MakeZip(const std::vector<ZipEntry>& entries);

struct UnpackedZip {
  uint64_t unzipped_bytes = 0;            // bytes written (what the entries declare is not trusted)
  bool has_executable_bootstrap = false;  // a regular file `bootstrap` at the root, mode u+x
};

// Extracts `zip_bytes` into the existing directory `dir`, keeping Unix modes.
// Errors: InvalidArgument when the bytes are not a zip, an entry escapes `dir` (absolute
// path or ".."), an entry cannot be laid out (a file where a directory must go, a name too
// long, a path too deep), or the bytes written exceed `max_unzipped_bytes` (unpacking stops
// there, whatever sizes the entries declare); IoError on a full disk and the like. Messages
// name the entry, never `dir`.
Result<UnpackedZip> UnpackZip(const std::string& zip_bytes, const std::string& dir,
                              uint64_t max_unzipped_bytes = 262144000);

}  // namespace parallelagram::os
