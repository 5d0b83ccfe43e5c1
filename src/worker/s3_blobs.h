// s3:// for the worker's staged files: GetObject to a local file, PutObject from a file or
// bytes, signed with SigV4 using the execution environment's credentials.
//
// Configuration comes from the environment Lambda gives a function: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (the role's), AWS_REGION, and the SDKs'
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (custom endpoints use path-style addressing; AWS's
// own use virtual-hosted buckets). HTTPS verifies the server against the CA bundle found at
// $SSL_CERT_FILE, Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt or Debian's
// /etc/ssl/certs/ca-certificates.crt, whichever exists first.
//
// URIs are "s3://BUCKET/KEY" (KEY taken literally; it is percent-encoded on the wire).
// HTTP is a blocking Beast client, one connection per call: the worker transfers a task's
// few files one after another. Errors: NotFound (404), PermissionDenied (403, naming the
// bucket but never a credential), Unavailable (transport, 5xx); each message names the URI.
// Thread-safety: Fetch/Put may run concurrently (no shared mutable state).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aws/s3_requests.h"
#include "worker/blob_store.h"

namespace parallelagram {

struct S3BlobsConfig {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string region = "us-east-1";
  std::string endpoint;  // "" = AWS's public endpoint for the region
  std::string ca_file;   // "" = found as described above
};

// The S3 requests every S3Blobs of this process sent so far, by price class (a worker's
// invocation reports the difference across it). Any thread.
aws::S3RequestCounts S3BlobRequestsSent();

// The configuration from this process's environment.
S3BlobsConfig S3BlobsConfigFromEnvironment();

class S3Blobs : public BlobFetcher, public BlobStore {
 public:
  explicit S3Blobs(S3BlobsConfig config);
  Status Fetch(const std::string& uri, const std::string& dest) override;
  // A ranged GET (Range: bytes=offset-(offset+length-1)); the reply must be 206.
  Status FetchRange(const std::string& uri, uint64_t offset, uint64_t length,
                    const std::string& dest) override;
  Status Put(const std::string& src, const std::string& uri) override;
  Status PutBytes(std::string_view data, const std::string& uri) override;

  // The URL for s3://bucket/key under this configuration (exposed for tests).
  Result<std::string> UrlOf(const std::string& uri) const;

 private:
  // GETs `uri` (the `range` of it when not "": the reply must be 206) into `dest`, through a
  // temporary renamed into place.
  Status GetInto(const std::string& uri, const std::string& dest, const std::string& range);
  S3BlobsConfig config_;
};

}  // namespace parallelagram
