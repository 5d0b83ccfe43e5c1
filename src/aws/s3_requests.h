// S3's request price classes, and counts of requests sent by them (S3Client, the worker's S3
// blobs, a job's cost). Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>

namespace parallelagram::aws {

// Requests an S3Client sent, by S3's price classes: PUT, COPY, POST and LIST requests (PutObject,
// the multipart calls but Abort, ListObjectsV2, CreateBucket) and GET-class ones (GetObject,
// HeadObject). DELETE requests (DeleteObject, DeleteObjects, AbortMultipartUpload, DeleteBucket)
// are free and not counted. A request counts once, however often AwsClient retried it.
struct S3RequestCounts {
  int64_t put_class = 0;
  int64_t get_class = 0;
  S3RequestCounts& operator+=(const S3RequestCounts& o) {
    put_class += o.put_class;
    get_class += o.get_class;
    return *this;
  }
};

// The price class of S3 operation `operation` ("PutObject", ...): counts of 1 or 0.
S3RequestCounts S3RequestClassOf(const std::string& operation);

}  // namespace parallelagram::aws
