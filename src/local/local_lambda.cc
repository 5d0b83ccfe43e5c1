#include "local/local_lambda.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "local/service.h"

namespace parallelagram::local {

namespace asio = boost::asio;

struct LocalLambda::Impl {
  asio::io_context io{1};
  std::unique_ptr<Service> service;
  std::thread thread;
  std::string work_dir;
  bool remove_work_dir = false;
  std::string host;
  int port = 0;
  std::mutex mu;
  bool stopped = false;
};

LocalLambda::LocalLambda(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalLambda::~LocalLambda() { Stop(); }

Result<std::unique_ptr<LocalLambda>> LocalLambda::Start(LocalLambdaOptions options) {
  auto impl = std::make_unique<Impl>();
  if (options.concurrency < 1) {
    return Status::InvalidArgument("--concurrency must be at least 1");
  }
  if (options.access_key_id.empty() != options.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "give both the access key id and the secret access key, or neither");
  }
  if (options.work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/local-lambda-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Status::IoError("cannot create a work directory under " + tmpl + ": " +
                             std::strerror(errno));
    }
    impl->work_dir = tmpl;
    impl->remove_work_dir = true;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.work_dir, ec);
    if (ec) {
      return Status::IoError("cannot create work directory " + options.work_dir + ": " +
                             ec.message());
    }
    impl->work_dir = std::filesystem::absolute(options.work_dir).string();
  }
  impl->host = options.host;
  impl->service = std::make_unique<Service>(impl->io, std::move(options), impl->work_dir);
  Status st = impl->service->Listen();
  if (!st.ok()) {
    impl->service.reset();
    if (impl->remove_work_dir) {
      std::error_code ec;
      std::filesystem::remove_all(impl->work_dir, ec);
    }
    return st;
  }
  impl->port = impl->service->port();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    auto guard = asio::make_work_guard(raw->io);
    raw->io.run();
  });
  return std::unique_ptr<LocalLambda>(new LocalLambda(std::move(impl)));
}

int LocalLambda::port() const { return impl_->port; }

std::string LocalLambda::endpoint() const {
  std::string host = impl_->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (host == "0.0.0.0") host = "127.0.0.1";
  return "http://" + host + ":" + std::to_string(impl_->port);
}

void LocalLambda::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  std::promise<void> done;
  asio::post(impl_->io, [this, &done] {
    impl_->service->Shutdown();
    done.set_value();
  });
  done.get_future().wait();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->service.reset();
  if (impl_->remove_work_dir) {
    std::error_code ec;
    std::filesystem::remove_all(impl_->work_dir, ec);
  }
}

}  // namespace parallelagram::local
