// S3Client: the S3 operations Parallelagram uses, on the shared AWS request
// core (aws_client.h: SigV4 with S3's rules, retries, parsed AWS errors).
//
// Addressing: path-style ("<endpoint>/<bucket>/<key>") when Options::path_style
// (custom endpoints: moto, MinIO, LocalStack), else virtual-hosted
// ("https://<bucket>.<endpoint host>/<key>"); buckets whose names have dots
// always go path-style. Keys are encoded once (UriEncode, keeping '/'), never normalised.
//
// Thread-safety: not thread-safe; call on the AwsClient's loop thread only.
// Every `done` is called exactly once on the loop thread, never from inside the
// call. Lifetime: borrows `aws`, which must outlive the S3Client; the S3Client
// must outlive every call in flight.
// Errors: AwsError from the core ("s3 <Operation>: <Code>: <message> (HTTP n,
// request id x)", plus the credential source for auth failures). Local file
// errors give kIoError naming the path. Multipart uploads are aborted
// (AbortMultipartUpload) on any failure before `done` is called.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/aws_client.h"
#include "aws/multipart_plan.h"
#include "aws/s3_requests.h"
#include "aws/s3_xml.h"

namespace parallelagram::aws {

struct S3ObjectInfo {
  int64_t size = 0;  // Content-Length (of the range, for ranged GETs)
  std::string etag;
  std::string content_type;
  std::string last_modified;                    // HTTP-date as S3 sent it
  std::map<std::string, std::string> metadata;  // x-amz-meta-* without the prefix
};

struct S3GetResult {
  S3ObjectInfo info;
  std::string body;  // empty when streamed to a file
};

struct S3PutOptions {
  std::string content_type;
  std::map<std::string, std::string> metadata;  // sent as x-amz-meta-<name>
};

class S3Client {
 public:
  struct Options {
    bool path_style = false;
    int64_t multipart_threshold = kS3DefaultMultipartThreshold;  // UploadFile: parts from here
    int64_t part_size = kS3DefaultPartSize;
    int max_parallel_parts = 8;  // UploadPart requests in flight per upload
    // File uploads are signed UNSIGNED-PAYLOAD (the bytes are streamed, never
    // read twice). nullopt: only over https, as the SDKs do.
    std::optional<bool> unsigned_file_payloads;
  };

  // `aws` must be configured for S3 (service "s3", kRestXml, s3_rules).
  S3Client(AwsClient& aws, Options options);

  template <typename T>
  using Done = std::function<void(AwsResult<T>)>;
  struct Empty {};

  void CreateBucket(const std::string& bucket, Done<Empty> done);  // LocationConstraint from
                                                                   // the client's region
  void DeleteBucket(const std::string& bucket, Done<Empty> done);

  void PutObject(const std::string& bucket, const std::string& key, std::string body,
                 Done<std::string> done, const S3PutOptions& opts = {});  // -> ETag
  // Uploads `path` in one PUT (streamed from the file).
  void PutObjectFromFile(const std::string& bucket, const std::string& key, const std::string& path,
                         Done<std::string> done, const S3PutOptions& opts = {});
  // Uploads `path` with PutObjectFromFile below the multipart threshold, else
  // in parts, several in flight; aborts the multipart upload on any failure.
  void UploadFile(const std::string& bucket, const std::string& key, const std::string& path,
                  Done<std::string> done, const S3PutOptions& opts = {});
  // Multipart upload of an in-memory buffer (always in parts).
  void UploadBuffer(const std::string& bucket, const std::string& key,
                    std::shared_ptr<const std::string> data, Done<std::string> done,
                    const S3PutOptions& opts = {});

  // GetObject. `range` is "" (whole object) or an inclusive byte range
  // {first, last}; last < 0 means "to the end". With `to_file` non-empty the
  // body is streamed there (written to a temporary, renamed on success).
  struct Range {
    int64_t first = 0;
    int64_t last = -1;
  };
  void GetObject(const std::string& bucket, const std::string& key, Done<S3GetResult> done,
                 std::optional<Range> range = std::nullopt, const std::string& to_file = "");
  void HeadObject(const std::string& bucket, const std::string& key, Done<S3ObjectInfo> done);

  // One ListObjectsV2 page (at most `max_keys`, S3 caps it at 1,000).
  void ListObjectsPage(const std::string& bucket, const std::string& prefix,
                       const std::string& continuation_token, int max_keys,
                       Done<ListObjectsPage> done);
  // Every object under `prefix`, following continuation tokens.
  void ListAllObjects(const std::string& bucket, const std::string& prefix,
                      Done<std::vector<S3Object>> done);
  // Deletes `keys` in batches of 1,000 (one batch in flight at a time). Fails
  // if S3 reports any key it could not delete (first failure named).
  void DeleteObjects(const std::string& bucket, std::vector<std::string> keys, Done<Empty> done);
  void DeleteObject(const std::string& bucket, const std::string& key, Done<Empty> done);

  // Multipart building blocks (UploadFile/UploadBuffer use them).
  void CreateMultipartUpload(const std::string& bucket, const std::string& key,
                             const S3PutOptions& opts, Done<std::string> done);  // -> UploadId
  void AbortMultipartUpload(const std::string& bucket, const std::string& key,
                            const std::string& upload_id, Done<Empty> done);

  // The URL (absolute, or a path for the core to append to the endpoint) of
  // `bucket`/`key` with `query` ("" or "a=b&c"), encoded.
  std::string Url(const std::string& bucket, const std::string& key,
                  const std::string& query) const;

  AwsClient& aws() { return aws_; }
  const Options& options() const { return options_; }
  // What this client sent so far (any thread).
  S3RequestCounts requests() const { return {put_requests_.load(), get_requests_.load()}; }

 private:
  struct Upload;
  void StartUpload(std::shared_ptr<Upload> up);
  void PumpParts(std::shared_ptr<Upload> up);
  void FinishUpload(std::shared_ptr<Upload> up);
  void FailUpload(std::shared_ptr<Upload> up, AwsError error);
  bool UnsignedFiles() const;
  void Send(const std::string& operation, HttpRequest http, Done<HttpResponse> done,
            bool unsigned_payload = false);

  AwsClient& aws_;
  Options options_;
  std::atomic<int64_t> put_requests_{0};
  std::atomic<int64_t> get_requests_{0};
};

}  // namespace parallelagram::aws
