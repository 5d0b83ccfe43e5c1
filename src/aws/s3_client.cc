#include "aws/s3_client.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "aws/sigv4.h"

namespace parallelagram::aws {
namespace {

S3ObjectInfo InfoFromHeaders(const HttpResponse& r) {
  S3ObjectInfo info;
  std::string len = r.Header("content-length");
  info.size = std::strtoll(len.c_str(), nullptr, 10);
  info.etag = r.Header("etag");
  info.content_type = r.Header("content-type");
  info.last_modified = r.Header("last-modified");
  for (const auto& [name, value] : r.headers) {
    if (name.rfind("x-amz-meta-", 0) == 0) info.metadata[name.substr(11)] = value;
  }
  return info;
}

void AddPutHeaders(HttpRequest& http, const S3PutOptions& opts) {
  if (!opts.content_type.empty()) http.headers.emplace_back("Content-Type", opts.content_type);
  for (const auto& [k, v] : opts.metadata) http.headers.emplace_back("x-amz-meta-" + k, v);
}

}  // namespace

struct S3Client::Upload {
  std::string bucket;
  std::string key;
  std::string path;                         // file upload, or
  std::shared_ptr<const std::string> data;  // buffer upload
  S3PutOptions opts;
  std::vector<PartRange> parts;
  std::vector<CompletedPart> completed;
  size_t next = 0;
  int in_flight = 0;
  size_t finished = 0;
  std::string upload_id;
  std::optional<AwsError> failure;
  Done<std::string> done;
};

S3Client::S3Client(AwsClient& aws, Options options) : aws_(aws), options_(std::move(options)) {
  options_.max_parallel_parts = std::max(1, options_.max_parallel_parts);
}

bool S3Client::UnsignedFiles() const {
  if (options_.unsigned_file_payloads) return *options_.unsigned_file_payloads;
  return aws_.config().endpoint.rfind("https://", 0) == 0;
}

std::string S3Client::Url(const std::string& bucket, const std::string& key,
                          const std::string& query) const {
  std::string q = query.empty() ? "" : "?" + query;
  const std::string& ep = aws_.config().endpoint;
  size_t scheme_end = ep.find("://");
  if (options_.path_style || !IsVirtualHostable(bucket) || scheme_end == std::string::npos) {
    std::string path = "/" + UriEncode(bucket, false);
    if (!key.empty()) path += "/" + UriEncode(key, /*keep_slash=*/true);
    return path + q;
  }
  return ep.substr(0, scheme_end + 3) + bucket + "." + ep.substr(scheme_end + 3) + "/" +
         UriEncode(key, /*keep_slash=*/true) + q;
}

S3RequestCounts S3RequestClassOf(const std::string& operation) {
  if (operation == "GetObject" || operation == "HeadObject") return {0, 1};
  if (operation.rfind("Delete", 0) == 0 || operation == "AbortMultipartUpload") return {0, 0};
  return {1, 0};
}

void S3Client::Send(const std::string& operation, HttpRequest http, Done<HttpResponse> done,
                    bool unsigned_payload) {
  const S3RequestCounts c = S3RequestClassOf(operation);
  put_requests_ += c.put_class;
  get_requests_ += c.get_class;
  AwsRequest req;
  req.operation = operation;
  req.http = std::move(http);
  req.unsigned_payload = unsigned_payload;
  aws_.Send(std::move(req), std::move(done));
}

void S3Client::CreateBucket(const std::string& bucket, Done<Empty> done) {
  HttpRequest http;
  http.method = "PUT";
  http.url = Url(bucket, "", "");
  http.body = BuildCreateBucketConfiguration(aws_.config().region);
  if (!http.body.empty()) http.headers.emplace_back("Content-Type", "application/xml");
  Send("CreateBucket", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    done(Empty{});
  });
}

void S3Client::DeleteBucket(const std::string& bucket, Done<Empty> done) {
  HttpRequest http;
  http.method = "DELETE";
  http.url = Url(bucket, "", "");
  Send("DeleteBucket", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    done(Empty{});
  });
}

void S3Client::PutObject(const std::string& bucket, const std::string& key, std::string body,
                         Done<std::string> done, const S3PutOptions& opts) {
  HttpRequest http;
  http.method = "PUT";
  http.url = Url(bucket, key, "");
  http.body = std::move(body);
  AddPutHeaders(http, opts);
  Send("PutObject", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    done(r->Header("etag"));
  });
}

void S3Client::PutObjectFromFile(const std::string& bucket, const std::string& key,
                                 const std::string& path, Done<std::string> done,
                                 const S3PutOptions& opts) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    aws_.loop().AddTimer(0, [done = std::move(done), path] {
      done(ClientError(
          Status::IoError("s3 PutObject: cannot read '" + path + "': not a regular file")));
    });
    return;
  }
  HttpRequest http;
  http.method = "PUT";
  http.url = Url(bucket, key, "");
  http.body_file = path;
  AddPutHeaders(http, opts);
  Send(
      "PutObject", std::move(http),
      [done = std::move(done)](AwsResult<HttpResponse> r) {
        if (!r.ok()) return done(std::move(r.error()));
        done(r->Header("etag"));
      },
      UnsignedFiles());
}

void S3Client::UploadFile(const std::string& bucket, const std::string& key,
                          const std::string& path, Done<std::string> done,
                          const S3PutOptions& opts) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    aws_.loop().AddTimer(0, [done = std::move(done), path, msg = ec.message()] {
      done(ClientError(Status::IoError("s3 upload: cannot read '" + path + "': " + msg)));
    });
    return;
  }
  if (static_cast<int64_t>(size) < options_.multipart_threshold) {
    return PutObjectFromFile(bucket, key, path, std::move(done), opts);
  }
  auto up = std::make_shared<Upload>();
  up->bucket = bucket;
  up->key = key;
  up->path = path;
  up->opts = opts;
  up->done = std::move(done);
  auto parts = PlanParts(static_cast<int64_t>(size), options_.part_size);
  if (!parts.ok()) {
    aws_.loop().AddTimer(0, [up, s = parts.status()] { up->done(ClientError(s)); });
    return;
  }
  up->parts = std::move(parts).value();
  StartUpload(up);
}

void S3Client::UploadBuffer(const std::string& bucket, const std::string& key,
                            std::shared_ptr<const std::string> data, Done<std::string> done,
                            const S3PutOptions& opts) {
  auto up = std::make_shared<Upload>();
  up->bucket = bucket;
  up->key = key;
  up->data = std::move(data);
  up->opts = opts;
  up->done = std::move(done);
  auto parts = PlanParts(static_cast<int64_t>(up->data->size()), options_.part_size);
  if (!parts.ok()) {
    aws_.loop().AddTimer(0, [up, s = parts.status()] { up->done(ClientError(s)); });
    return;
  }
  up->parts = std::move(parts).value();
  StartUpload(up);
}

void S3Client::CreateMultipartUpload(const std::string& bucket, const std::string& key,
                                     const S3PutOptions& opts, Done<std::string> done) {
  HttpRequest http;
  http.method = "POST";
  http.url = Url(bucket, key, "uploads");
  AddPutHeaders(http, opts);
  Send("CreateMultipartUpload", std::move(http),
       [done = std::move(done)](AwsResult<HttpResponse> r) {
         if (!r.ok()) return done(std::move(r.error()));
         auto id = ParseCreateMultipartUpload(r->body);
         if (!id.ok()) return done(ClientError(id.status()));
         done(std::move(id).value());
       });
}

void S3Client::AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                    const std::string& upload_id, Done<Empty> done) {
  HttpRequest http;
  http.method = "DELETE";
  http.url = Url(bucket, key, "uploadId=" + UriEncode(upload_id, false));
  Send("AbortMultipartUpload", std::move(http),
       [done = std::move(done)](AwsResult<HttpResponse> r) {
         if (!r.ok()) return done(std::move(r.error()));
         done(Empty{});
       });
}

void S3Client::StartUpload(std::shared_ptr<Upload> up) {
  up->completed.resize(up->parts.size());
  CreateMultipartUpload(up->bucket, up->key, up->opts, [this, up](AwsResult<std::string> r) {
    if (!r.ok()) {
      auto done = std::move(up->done);
      return done(std::move(r.error()));
    }
    up->upload_id = std::move(r).value();
    PumpParts(up);
  });
}

void S3Client::PumpParts(std::shared_ptr<Upload> up) {
  while (!up->failure && up->next < up->parts.size() &&
         up->in_flight < options_.max_parallel_parts) {
    const PartRange part = up->parts[up->next++];
    HttpRequest http;
    http.method = "PUT";
    http.url = Url(up->bucket, up->key,
                   "partNumber=" + std::to_string(part.part_number) +
                       "&uploadId=" + UriEncode(up->upload_id, false));
    bool unsigned_payload = false;
    if (up->data) {
      http.body =
          up->data->substr(static_cast<size_t>(part.offset), static_cast<size_t>(part.length));
    } else {
      http.body_file = up->path;
      http.body_file_offset = static_cast<uint64_t>(part.offset);
      http.body_file_length = part.length;
      unsigned_payload = UnsignedFiles();
    }
    up->in_flight++;
    Send(
        "UploadPart", std::move(http),
        [this, up, part](AwsResult<HttpResponse> r) {
          up->in_flight--;
          up->finished++;
          if (!r.ok()) {
            if (!up->failure) up->failure = std::move(r.error());
          } else {
            std::string etag = r->Header("etag");
            if (etag.empty() && !up->failure) {
              up->failure = ClientError(
                  Status::ProtocolError("s3 UploadPart: no ETag in the answer for part " +
                                        std::to_string(part.part_number)));
            }
            up->completed[static_cast<size_t>(part.part_number - 1)] = {part.part_number, etag};
          }
          if (up->failure) {
            if (up->in_flight == 0) FailUpload(up, *up->failure);
            return;
          }
          if (up->finished == up->parts.size()) return FinishUpload(up);
          PumpParts(up);
        },
        unsigned_payload);
  }
}

void S3Client::FinishUpload(std::shared_ptr<Upload> up) {
  HttpRequest http;
  http.method = "POST";
  http.url = Url(up->bucket, up->key, "uploadId=" + UriEncode(up->upload_id, false));
  http.body = BuildCompleteMultipartUploadXml(up->completed);
  http.headers.emplace_back("Content-Type", "application/xml");
  Send("CompleteMultipartUpload", std::move(http), [this, up](AwsResult<HttpResponse> r) {
    if (!r.ok()) return FailUpload(up, std::move(r.error()));
    auto etag = ParseCompleteMultipartUpload(r->body);
    if (!etag.ok()) return FailUpload(up, ClientError(etag.status()));
    auto done = std::move(up->done);
    done(std::move(etag).value());
  });
}

void S3Client::FailUpload(std::shared_ptr<Upload> up, AwsError error) {
  AbortMultipartUpload(up->bucket, up->key, up->upload_id,
                       [up, error = std::move(error)](AwsResult<Empty> r) mutable {
                         if (!r.ok()) {
                           error.status = Status(
                               error.status.code(),
                               error.status.message() + "; aborting the upload failed too (" +
                                   r.status().message() +
                                   "): delete it with "
                                   "'aws s3api abort-multipart-upload --bucket " +
                                   up->bucket + " --key <key> --upload-id " + up->upload_id + "'");
                         }
                         auto done = std::move(up->done);
                         done(std::move(error));
                       });
}

void S3Client::GetObject(const std::string& bucket, const std::string& key, Done<S3GetResult> done,
                         std::optional<Range> range, const std::string& to_file) {
  HttpRequest http;
  http.method = "GET";
  http.url = Url(bucket, key, "");
  if (range) {
    std::string v = "bytes=" + std::to_string(range->first) + "-";
    if (range->last >= 0) v += std::to_string(range->last);
    http.headers.emplace_back("Range", v);
  }
  http.response_file = to_file;
  Send("GetObject", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    S3GetResult out;
    out.info = InfoFromHeaders(*r);
    out.body = std::move(r->body);
    done(std::move(out));
  });
}

void S3Client::HeadObject(const std::string& bucket, const std::string& key,
                          Done<S3ObjectInfo> done) {
  HttpRequest http;
  http.method = "HEAD";
  http.url = Url(bucket, key, "");
  Send("HeadObject", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    done(InfoFromHeaders(*r));
  });
}

void S3Client::ListObjectsPage(const std::string& bucket, const std::string& prefix,
                               const std::string& continuation_token, int max_keys,
                               Done<aws::ListObjectsPage> done) {
  std::string q =
      "list-type=2&encoding-type=url&max-keys=" + std::to_string(std::clamp(max_keys, 1, 1000));
  if (!prefix.empty()) q += "&prefix=" + UriEncode(prefix, false);
  if (!continuation_token.empty()) {
    q += "&continuation-token=" + UriEncode(continuation_token, false);
  }
  HttpRequest http;
  http.method = "GET";
  http.url = Url(bucket, "", q);
  Send("ListObjectsV2", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    auto page = ParseListObjectsV2(r->body);
    if (!page.ok()) return done(ClientError(page.status()));
    done(std::move(page).value());
  });
}

void S3Client::ListAllObjects(const std::string& bucket, const std::string& prefix,
                              Done<std::vector<S3Object>> done) {
  struct State {
    std::vector<S3Object> all;
    Done<std::vector<S3Object>> done;
    std::function<void(const std::string&)> next;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);
  // `next` captures a weak pointer: the State owns `next`, the callbacks own the State.
  std::weak_ptr<State> weak = st;
  st->next = [this, bucket, prefix, weak](const std::string& token) {
    auto self = weak.lock();
    ListObjectsPage(bucket, prefix, token, 1000, [self](AwsResult<aws::ListObjectsPage> r) {
      if (!r.ok()) {
        auto d = std::move(self->done);
        self->next = nullptr;
        return d(std::move(r.error()));
      }
      for (auto& o : r->objects) self->all.push_back(std::move(o));
      if (r->is_truncated) return self->next(r->next_continuation_token);
      auto d = std::move(self->done);
      self->next = nullptr;
      d(std::move(self->all));
    });
  };
  st->next("");
}

void S3Client::DeleteObjects(const std::string& bucket, std::vector<std::string> keys,
                             Done<Empty> done) {
  struct State {
    std::vector<std::string> keys;
    size_t pos = 0;
    Done<Empty> done;
    std::string bucket;
  };
  auto st = std::make_shared<State>();
  st->keys = std::move(keys);
  st->done = std::move(done);
  st->bucket = bucket;
  auto step = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak_step = step;
  *step = [this, st, weak_step] {
    auto self_step = weak_step.lock();
    if (st->pos >= st->keys.size()) {
      auto d = std::move(st->done);
      return d(Empty{});
    }
    size_t end = std::min(st->keys.size(), st->pos + 1000);
    std::vector<std::string> batch(st->keys.begin() + static_cast<std::ptrdiff_t>(st->pos),
                                   st->keys.begin() + static_cast<std::ptrdiff_t>(end));
    st->pos = end;
    HttpRequest http;
    http.method = "POST";
    http.url = Url(st->bucket, "", "delete");
    http.body = BuildDeleteObjectsXml(batch, /*quiet=*/true);
    http.headers.emplace_back("Content-MD5", ContentMd5(http.body));
    http.headers.emplace_back("Content-Type", "application/xml");
    Send("DeleteObjects", std::move(http), [st, self_step](AwsResult<HttpResponse> r) {
      if (!r.ok()) {
        auto d = std::move(st->done);
        return d(std::move(r.error()));
      }
      auto res = ParseDeleteObjectsResult(r->body);
      if (!res.ok()) {
        auto d = std::move(st->done);
        return d(ClientError(res.status()));
      }
      if (!res->errors.empty()) {
        const auto& f = res->errors.front();
        AwsError e;
        e.code = f.code;
        e.message = f.message;
        e.status =
            Status(ToStatusCode(f.code, 0),
                   "s3 DeleteObjects: " + std::to_string(res->errors.size()) +
                       " key(s) not deleted; first '" + f.key + "': " + f.code + ": " + f.message);
        auto d = std::move(st->done);
        return d(std::move(e));
      }
      (*self_step)();
    });
  };
  (*step)();
}

void S3Client::DeleteObject(const std::string& bucket, const std::string& key, Done<Empty> done) {
  HttpRequest http;
  http.method = "DELETE";
  http.url = Url(bucket, key, "");
  Send("DeleteObject", std::move(http), [done = std::move(done)](AwsResult<HttpResponse> r) {
    if (!r.ok()) return done(std::move(r.error()));
    done(Empty{});
  });
}

}  // namespace parallelagram::aws
