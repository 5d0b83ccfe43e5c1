// S3ObjectStore: the ObjectStore of the AWS backend, objects under s3://BUCKET/PREFIX/.
//
// Uri(key) is "s3://BUCKET/PREFIX/KEY" ("s3://BUCKET/KEY" with an empty prefix); keys are
// sent literally (percent-encoded on the wire, never normalised), so names with spaces,
// unicode or '+' work. The store owns its own AwsSession (I/O loop, HTTP client,
// credentials), separate from the driver's loop: each call runs that loop on the calling
// thread until it is done, so calls may be made from inside a callback of the driver's loop.
//
// PutFile: HeadObject first (a cas/ key of the same size is kept), then UploadFile (one PUT,
// or multipart from S3Client's threshold, parts in parallel). PutFiles: the same for up to
// 16 files in flight at once. GetFile: streamed to a temporary beside `dest`, renamed on
// success (never a partial `dest`); any bucket. Delete: only objects inside BUCKET/PREFIX.
// List: ListObjectsV2 pages of 1,000 with continuation tokens.
//
// Errors: one line naming the s3:// URI (or the local file) and AWS's error text (operation,
// code, message, HTTP status, request id; for auth failures where the credentials came
// from), never a secret. Codes as aws_error.h maps them (NotFound, PermissionDenied, ...).
// Thread-safety: every method may be called from any thread; calls are serialised (one at
// a time per store), counters() never blocks.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aws/aws_config.h"
#include "aws/aws_session.h"
#include "aws/s3_client.h"
#include "driver/object_store.h"

namespace parallelagram::driver {

// Splits "s3://BUCKET/KEY" into bucket and key (key non-empty, taken literally).
// InvalidArgument naming the URI otherwise.
Result<std::pair<std::string, std::string>> ParseS3Uri(const std::string& uri);

class S3ObjectStore : public ObjectStore {
 public:
  // Files moved in parallel by PutFiles.
  static constexpr int kMaxPutsInFlight = 16;

  // Resolves region, endpoint and credentials from `env` (aws_session.h). `bucket` must be
  // a bucket name; `prefix` has no leading or trailing '/' ("" for the bucket's root).
  // No request is made. Errors: those of AwsSession::Open, InvalidArgument for a bad name.
  static Result<std::unique_ptr<S3ObjectStore>> Open(const aws::Environment& env,
                                                     std::string bucket, std::string prefix);
  // As Open, with S3Client options (tests: a small multipart threshold).
  static Result<std::unique_ptr<S3ObjectStore>> Open(const aws::Environment& env,
                                                     std::string bucket, std::string prefix,
                                                     aws::S3Client::Options options);
  ~S3ObjectStore() override;

  std::string Uri(const std::string& key) const override;
  Result<std::string> PutFile(const std::string& key, const std::string& path) override;
  std::vector<PutOutcome> PutFiles(const std::vector<PutRequest>& files) override;
  Status GetFile(const std::string& uri, const std::string& dest) override;
  Status Delete(const std::string& uri) override;
  Result<std::vector<StoredObject>> List(const std::string& prefix) override;
  Result<std::string> PutBytes(const std::string& key, std::string_view data) override;
  Result<int64_t> Size(const std::string& uri) override;  // HeadObject
  Result<std::string> ReadRange(const std::string& uri, int64_t offset,
                                size_t length) override;  // a ranged GetObject
  aws::S3RequestCounts s3_requests() const override { return s3_.requests(); }

  const std::string& bucket() const { return bucket_; }
  const std::string& prefix() const { return prefix_; }
  aws::AwsSession& session() { return *session_; }

 private:
  S3ObjectStore(std::unique_ptr<aws::AwsSession> session, std::string bucket, std::string prefix,
                aws::S3Client::Options options);
  std::string KeyOf(const std::string& key) const;  // the S3 key of a store key
  struct Batch;
  void StartPut(const std::shared_ptr<Batch>& batch, size_t index);

  std::mutex mu_;  // one call at a time: the session's loop runs on the caller's thread
  std::unique_ptr<aws::AwsSession> session_;
  aws::S3Client s3_;
  std::string bucket_;
  std::string prefix_;
};

}  // namespace parallelagram::driver
