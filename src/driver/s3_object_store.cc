#include "driver/s3_object_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace parallelagram::driver {
namespace fs = std::filesystem;

namespace {

bool ValidBucketName(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The size of regular file `path`, or -1.
int64_t FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return static_cast<int64_t>(st.st_size);
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseS3Uri(const std::string& uri) {
  if (uri.rfind("s3://", 0) != 0) {
    return Status::InvalidArgument("'" + uri + "' is not an s3:// URI (want s3://BUCKET/KEY)");
  }
  size_t slash = uri.find('/', 5);
  if (slash == std::string::npos || slash == 5 || slash + 1 >= uri.size()) {
    return Status::InvalidArgument("'" + uri + "' is not an S3 object URI (want s3://BUCKET/KEY)");
  }
  return std::make_pair(uri.substr(5, slash - 5), uri.substr(slash + 1));
}

// One PutFiles call: the requests, their outcomes, and how far it got.
struct S3ObjectStore::Batch {
  const std::vector<PutRequest>* requests = nullptr;
  std::vector<PutOutcome> out;
  size_t next = 0;
  size_t finished = 0;
  int in_flight = 0;
};

S3ObjectStore::S3ObjectStore(std::unique_ptr<aws::AwsSession> session, std::string bucket,
                             std::string prefix, aws::S3Client::Options options)
    : session_(std::move(session)),
      s3_(session_->Client("s3"), options),
      bucket_(std::move(bucket)),
      prefix_(std::move(prefix)) {}

S3ObjectStore::~S3ObjectStore() = default;

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(const aws::Environment& env,
                                                           std::string bucket, std::string prefix) {
  return Open(env, std::move(bucket), std::move(prefix), aws::S3Client::Options{});
}

Result<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(const aws::Environment& env,
                                                           std::string bucket, std::string prefix,
                                                           aws::S3Client::Options options) {
  if (!ValidBucketName(bucket)) {
    return Status::InvalidArgument("'" + bucket +
                                   "' is not an S3 bucket name (3-63 characters: a-z, 0-9, '.', "
                                   "'-'); give the job bucket's name");
  }
  if (!prefix.empty() && (prefix.front() == '/' || prefix.back() == '/')) {
    return Status::InvalidArgument("S3 prefix '" + prefix +
                                   "' must not start or end with '/' (e.g. parallelagram)");
  }
  PG_ASSIGN_OR_RETURN(std::unique_ptr<aws::AwsSession> session, aws::AwsSession::Open(env));
  options.path_style = session->s3_path_style();
  return std::unique_ptr<S3ObjectStore>(
      new S3ObjectStore(std::move(session), std::move(bucket), std::move(prefix), options));
}

std::string S3ObjectStore::KeyOf(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "/" + key;
}

std::string S3ObjectStore::Uri(const std::string& key) const {
  return "s3://" + bucket_ + "/" + KeyOf(key);
}

Result<std::string> S3ObjectStore::PutFile(const std::string& key, const std::string& path) {
  std::vector<PutOutcome> out = PutFiles({PutRequest{key, path}});
  if (!out[0].status.ok()) return out[0].status;
  return out[0].uri;
}

void S3ObjectStore::StartPut(const std::shared_ptr<Batch>& batch, size_t index) {
  const PutRequest& req = (*batch->requests)[index];
  PutOutcome& o = batch->out[index];
  const std::string uri = Uri(req.key);
  auto finish = [this, batch, index, uri](Status s, bool uploaded) {
    PutOutcome& o = batch->out[index];
    o.status = std::move(s);
    if (o.status.ok()) {
      o.uri = uri;
      o.uploaded = uploaded;
      if (uploaded) {
        CountUpload(o.bytes);
      } else {
        CountPresent(o.bytes);
      }
    }
    --batch->in_flight;
    ++batch->finished;
    while (batch->in_flight < kMaxPutsInFlight && batch->next < batch->requests->size()) {
      StartPut(batch, batch->next++);
    }
  };
  ++batch->in_flight;
  o.bytes = FileSize(req.path);
  if (o.bytes < 0) {
    o.bytes = 0;
    finish(Status::NotFound("cannot stage '" + req.path + "': not a readable file"), false);
    return;
  }
  const std::string key = KeyOf(req.key);
  auto upload = [this, key, uri, path = req.path, finish]() {
    s3_.UploadFile(bucket_, key, path, [uri, path, finish](aws::AwsResult<std::string> r) {
      if (!r.ok()) {
        finish(r.status().WithContext("cannot upload '" + path + "' to " + uri), false);
      } else {
        finish(Status::Ok(), true);
      }
    });
  };
  if (req.key.rfind("cas/", 0) != 0) {
    upload();
    return;
  }
  const int64_t size = o.bytes;
  s3_.HeadObject(bucket_, key, [uri, size, upload, finish](aws::AwsResult<aws::S3ObjectInfo> r) {
    if (r.ok() && r->size == size) {
      finish(Status::Ok(), false);
    } else if (r.ok() || r.status().code() == StatusCode::kNotFound) {
      upload();
    } else {
      finish(r.status().WithContext("cannot check " + uri), false);
    }
  });
}

std::vector<PutOutcome> S3ObjectStore::PutFiles(const std::vector<PutRequest>& files) {
  std::lock_guard<std::mutex> lock(mu_);
  auto batch = std::make_shared<Batch>();
  batch->requests = &files;
  batch->out.resize(files.size());
  while (batch->in_flight < kMaxPutsInFlight && batch->next < files.size()) {
    StartPut(batch, batch->next++);
  }
  while (batch->finished < files.size()) session_->loop().RunOnce(1000);
  return std::move(batch->out);
}

Status S3ObjectStore::GetFile(const std::string& uri, const std::string& dest) {
  PG_ASSIGN_OR_RETURN(auto bk, ParseS3Uri(uri));
  std::error_code ec;
  fs::path d(dest);
  if (d.has_parent_path()) {
    fs::create_directories(d.parent_path(), ec);
    if (ec) {
      return Status::IoError("cannot create the directory of '" + dest + "': " + ec.message());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto r = session_->Wait<aws::S3GetResult>(
      [&](auto done) { s3_.GetObject(bk.first, bk.second, done, std::nullopt, dest); });
  if (!r.ok()) return r.status().WithContext("cannot download " + uri + " to '" + dest + "'");
  CountDownload(r->info.size);
  return Status::Ok();
}

Result<std::string> S3ObjectStore::PutBytes(const std::string& key, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string full = KeyOf(key);
  auto r = session_->Wait<std::string>(
      [&](auto done) { s3_.PutObject(bucket_, full, std::string(data), done); });
  if (!r.ok()) return r.status().WithContext("cannot upload to s3://" + bucket_ + "/" + full);
  CountUpload(static_cast<int64_t>(data.size()));
  return Uri(key);
}

Result<int64_t> S3ObjectStore::Size(const std::string& uri) {
  PG_ASSIGN_OR_RETURN(auto bk, ParseS3Uri(uri));
  std::lock_guard<std::mutex> lock(mu_);
  auto r = session_->Wait<aws::S3ObjectInfo>(
      [&](auto done) { s3_.HeadObject(bk.first, bk.second, done); });
  if (!r.ok()) return r.status().WithContext("cannot read " + uri);
  return r->size;
}

Result<std::string> S3ObjectStore::ReadRange(const std::string& uri, int64_t offset,
                                             size_t length) {
  PG_ASSIGN_OR_RETURN(auto bk, ParseS3Uri(uri));
  if (length == 0) return std::string();
  std::lock_guard<std::mutex> lock(mu_);
  aws::S3Client::Range range{offset, offset + static_cast<int64_t>(length) - 1};
  auto r = session_->Wait<aws::S3GetResult>(
      [&](auto done) { s3_.GetObject(bk.first, bk.second, done, range); });
  if (!r.ok()) {
    if (r.status().message().find("InvalidRange") != std::string::npos) return std::string();
    return r.status().WithContext("cannot read " + uri);
  }
  CountDownload(static_cast<int64_t>(r->body.size()));
  return std::move(r->body);
}

Status S3ObjectStore::Delete(const std::string& uri) {
  PG_ASSIGN_OR_RETURN(auto bk, ParseS3Uri(uri));
  if (bk.first != bucket_ || (!prefix_.empty() && bk.second.rfind(prefix_ + "/", 0) != 0)) {
    return Status::InvalidArgument("object URI '" + uri + "' is not inside the store " + Uri(""));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto r = session_->Wait<aws::S3Client::Empty>(
      [&](auto done) { s3_.DeleteObject(bk.first, bk.second, done); });
  if (!r.ok() && r.status().code() != StatusCode::kNotFound) {
    return r.status().WithContext("cannot delete " + uri);
  }
  return Status::Ok();
}

Result<std::vector<StoredObject>> S3ObjectStore::List(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string full = KeyOf(prefix);
  auto r = session_->Wait<std::vector<aws::S3Object>>(
      [&](auto done) { s3_.ListAllObjects(bucket_, full, done); });
  if (!r.ok()) return r.status().WithContext("cannot list s3://" + bucket_ + "/" + full);
  const size_t strip = prefix_.empty() ? 0 : prefix_.size() + 1;
  std::vector<StoredObject> out;
  out.reserve(r->size());
  for (aws::S3Object& o : r.value()) {
    if (o.key.size() < strip) continue;
    out.push_back({o.key.substr(strip), o.size});
  }
  std::sort(out.begin(), out.end(),
            [](const StoredObject& a, const StoredObject& b) { return a.key < b.key; });
  return out;
}

}  // namespace parallelagram::driver
