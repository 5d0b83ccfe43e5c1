#include "driver/result_inbox.h"

#include <dirent.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "aws/s3_client.h"

namespace parallelagram::driver {

namespace fs = std::filesystem;

// --- DirectoryResultInbox ---------------------------------------------------------------------

std::string DirectoryResultInbox::Uri(const std::string& name) const {
  return "file://" + dir_ + "/" + name;
}

void DirectoryResultInbox::Poll(Wanted wanted,
                                std::function<void(Result<std::vector<Item>>)> done) {
  std::vector<Item> items;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    // The worker writes through a temporary (NAME.pgtmp.PID.N) renamed into place: skip it.
    if (name.empty() || name[0] == '.' || name.find(".pgtmp.") != std::string::npos) continue;
    Item item;
    item.name = name;
    if (wanted(name)) {
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      if (in.good() || in.eof()) {
        item.body = ss.str();
        item.read = true;
      }
    }
    items.push_back(std::move(item));
  }
  // A missing directory means no result yet; other listing errors are reported.
  Result<std::vector<Item>> r = std::move(items);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    r = Status::IoError("cannot list the results directory " + dir_ + ": " + ec.message());
  }
  timers_.After(0, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void DirectoryResultInbox::Remove(std::vector<std::string> names) {
  for (const auto& n : names) {
    std::error_code ec;
    fs::remove(dir_ + "/" + n, ec);
  }
}

// --- S3ResultInbox ----------------------------------------------------------------------------

struct S3ResultInbox::PollState {
  std::vector<Item> items;
  std::vector<size_t> to_read;  // indexes into items
  size_t next = 0;
  int in_flight = 0;
  std::function<void(Result<std::vector<Item>>)> done;
};

S3ResultInbox::S3ResultInbox(aws::S3Client& s3, std::string bucket, std::string prefix,
                             int max_parallel_gets)
    : s3_(s3),
      bucket_(std::move(bucket)),
      prefix_(std::move(prefix)),
      max_parallel_gets_(std::max(1, max_parallel_gets)) {}

S3ResultInbox::~S3ResultInbox() { *alive_ = false; }

std::string S3ResultInbox::Uri(const std::string& name) const {
  return "s3://" + bucket_ + "/" + prefix_ + name;
}

void S3ResultInbox::Poll(Wanted wanted, std::function<void(Result<std::vector<Item>>)> done) {
  std::weak_ptr<bool> alive = alive_;
  s3_.ListAllObjects(
      bucket_, prefix_,
      [this, alive, wanted = std::move(wanted),
       done = std::move(done)](aws::AwsResult<std::vector<aws::S3Object>> listed) mutable {
        if (alive.expired()) return;
        if (!listed.ok()) {
          done(listed.error().status);
          return;
        }
        auto st = std::make_shared<PollState>();
        st->done = std::move(done);
        for (const auto& o : *listed) {
          if (o.key.size() <= prefix_.size()) continue;
          Item item;
          item.name = o.key.substr(prefix_.size());
          if (wanted(item.name)) st->to_read.push_back(st->items.size());
          st->items.push_back(std::move(item));
        }
        PumpGets(st);
      });
}

void S3ResultInbox::PumpGets(std::shared_ptr<PollState> st) {
  if (st->next == st->to_read.size() && st->in_flight == 0) {
    auto done = std::move(st->done);
    done(std::move(st->items));
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  while (st->next < st->to_read.size() && st->in_flight < max_parallel_gets_) {
    size_t idx = st->to_read[st->next++];
    ++st->in_flight;
    s3_.GetObject(bucket_, prefix_ + st->items[idx].name,
                  [this, alive, st, idx](aws::AwsResult<aws::S3GetResult> got) {
                    if (alive.expired()) return;
                    --st->in_flight;
                    // A failed read leaves the item unread: the next poll tries again.
                    if (got.ok()) {
                      st->items[idx].body = std::move(got->body);
                      st->items[idx].read = true;
                    }
                    PumpGets(st);
                  });
  }
}

void S3ResultInbox::Remove(std::vector<std::string> names) {
  if (names.empty()) return;
  for (auto& n : names) n = prefix_ + n;
  s3_.DeleteObjects(bucket_, std::move(names), [](aws::AwsResult<aws::S3Client::Empty>) {});
}

}  // namespace parallelagram::driver
