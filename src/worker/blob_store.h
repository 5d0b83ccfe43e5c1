// Blob transport for staged task files, keyed by URI scheme.
//
// A BlobFetcher brings a blob to a local file; a BlobStore puts a local file (or bytes)
// at a URI. `Blobs` routes a URI to the implementation registered for its scheme.
// Implemented: file:// (FileBlobs) and s3:// (S3Blobs, s3_blobs.h).
//
// file:// URIs are "file://" followed by an absolute path taken literally (no percent
// decoding; "file://localhost/..." is accepted too). Writes are atomic: a temporary file
// in the destination directory, then rename; missing parent directories are created.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "parallelagram/status.h"

namespace parallelagram {

class BlobFetcher {
 public:
  virtual ~BlobFetcher() = default;
  // Writes the blob at `uri` to the local file `dest` (replaced if present; its parent
  // directory exists). NotFound when there is no such blob.
  virtual Status Fetch(const std::string& uri, const std::string& dest) = 0;
  // Writes bytes [offset, offset + length) of the blob at `uri` to `dest` (as Fetch). NotFound
  // when there is no such blob; InvalidArgument when it is shorter than offset + length, or
  // for a scheme that cannot read a part.
  virtual Status FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                            const std::string& dest);
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores the content of local file `src` at `uri`, replacing what was there.
  virtual Status Put(const std::string& src, const std::string& uri) = 0;
  // Stores `data` at `uri`, replacing what was there.
  virtual Status PutBytes(std::string_view data, const std::string& uri) = 0;
};

// file:// for both directions. Stateless; thread-safe.
class FileBlobs : public BlobFetcher, public BlobStore {
 public:
  Status Fetch(const std::string& uri, const std::string& dest) override;
  Status FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                    const std::string& dest) override;
  Status Put(const std::string& src, const std::string& uri) override;
  Status PutBytes(std::string_view data, const std::string& uri) override;
};

// The scheme of `uri` ("file", "s3"), or "" when it has none.
std::string UriScheme(const std::string& uri);
// The absolute local path of a file:// URI; InvalidArgument when it is not one.
Result<std::string> FileUriPath(const std::string& uri);
// Copies `src` to `dest` atomically (temporary file + rename), creating dest's parents.
Status CopyFileAtomic(const std::string& src, const std::string& dest);

// Routes by scheme. Owns its implementations. Not thread-safe to register while in use.
class Blobs {
 public:
  // A router with file:// and s3:// (configured from the environment) registered.
  static std::unique_ptr<Blobs> WithDefaults();
  void AddFetcher(const std::string& scheme, std::shared_ptr<BlobFetcher> f);
  void AddStore(const std::string& scheme, std::shared_ptr<BlobStore> s);

  // InvalidArgument naming the scheme when none is registered for it.
  Status Fetch(const std::string& uri, const std::string& dest);
  Status FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                    const std::string& dest);
  Status Put(const std::string& src, const std::string& uri);
  Status PutBytes(std::string_view data, const std::string& uri);

 private:
  std::map<std::string, std::shared_ptr<BlobFetcher>> fetchers_;
  std::map<std::string, std::shared_ptr<BlobStore>> stores_;
};

}  // namespace parallelagram
