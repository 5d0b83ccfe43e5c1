// S3's REST-XML bodies: building request documents and parsing responses with
// pugixml, plus S3's rules for encoding object keys in a URL.
//
// Pure functions, no I/O: thread-safe. Parse errors give kProtocolError with a
// one-line message naming the operation. S3 can answer CompleteMultipartUpload
// with HTTP 200 and an <Error> document; ParseCompleteMultipartUpload turns that
// into a non-OK Status carrying S3's code, message and request id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parallelagram/status.h"

namespace parallelagram::aws {

// Object keys in URLs are encoded with UriEncode(key, /*keep_slash=*/true)
// (sigv4.h); query values with UriEncode(value, false).
// Decodes %XX escapes, and '+' as a space (S3's encoding-type=url answers).
std::string S3DecodeUrlForm(std::string_view value);

// True when `name` follows S3's bucket naming rules (3-63 chars of a-z 0-9 . -,
// starting and ending with a letter or digit, not shaped like an IP address).
bool IsValidBucketName(std::string_view name);
// True when the bucket may be addressed virtual-hosted style over TLS (valid and
// without dots, which would break the wildcard certificate).
bool IsVirtualHostable(std::string_view name);

// Base64 of the MD5 of `body` (the Content-MD5 header DeleteObjects requires).
std::string ContentMd5(std::string_view body);

struct S3Object {
  std::string key;
  int64_t size = 0;
  std::string etag;
  std::string last_modified;  // ISO 8601 as S3 sent it
  std::string storage_class;
};

struct ListObjectsPage {
  std::vector<S3Object> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;  // set when is_truncated
};

// Parses a ListObjectsV2 <ListBucketResult>. Keys and prefixes are url-decoded
// when the answer says <EncodingType>url</EncodingType>.
Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml);

// <Delete> body for DeleteObjects (at most 1,000 keys; the caller batches).
std::string BuildDeleteObjectsXml(const std::vector<std::string>& keys, bool quiet);

struct DeleteObjectsResult {
  struct Failure {
    std::string key;
    std::string code;
    std::string message;
  };
  std::vector<std::string> deleted;
  std::vector<Failure> errors;
};
Result<DeleteObjectsResult> ParseDeleteObjectsResult(std::string_view xml);

// <InitiateMultipartUploadResult>: returns the UploadId.
Result<std::string> ParseCreateMultipartUpload(std::string_view xml);

struct CompletedPart {
  int part_number = 0;  // 1-based
  std::string etag;     // as UploadPart returned it, quotes included
};
// <CompleteMultipartUpload> body; `parts` must be in ascending part-number order.
std::string BuildCompleteMultipartUploadXml(const std::vector<CompletedPart>& parts);
// <CompleteMultipartUploadResult>: returns the object's ETag. An <Error> root
// (S3 sends it with HTTP 200) gives a non-OK Status naming S3's code.
Result<std::string> ParseCompleteMultipartUpload(std::string_view xml);

// <CreateBucketConfiguration> body for `region`; "" for us-east-1, which takes
// no LocationConstraint.
std::string BuildCreateBucketConfiguration(std::string_view region);

}  // namespace parallelagram::aws
