#include "http/io_loop.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parallelagram {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::fprintf(stderr, "parallelagram: libcurl failed to initialise\n");
      std::abort();
    }
  });
}

}  // namespace

struct IoLoop::Impl {
  CURLM* multi = nullptr;
  int epfd = -1;
  int wakefd = -1;
  bool stop = false;
  int64_t curl_deadline_us = -1;  // -1: curl wants no timeout

  struct TimerKey {
    int64_t deadline_us;
    TimerId id;
    bool operator<(const TimerKey& o) const {
      return deadline_us != o.deadline_us ? deadline_us < o.deadline_us : id < o.id;
    }
  };
  std::map<TimerKey, std::function<void()>> timers;
  std::unordered_map<TimerId, int64_t> timer_deadline;
  TimerId next_timer = 1;

  std::unordered_map<CURL*, std::function<void(int)>> transfers;

  std::mutex post_mu;
  std::vector<std::function<void()>> posted;  // guarded by post_mu

  // Sockets curl has handed us. A connection that finishes one transfer is reported
  // "REMOVE" and added again when the next transfer reuses it: its epoll registration is
  // kept meanwhile (an EPOLL_CTL_DEL + EPOLL_CTL_ADD pair per request saved). An idle socket
  // only wakes the loop when its peer closes it or sends something; it leaves the set then
  // (RunOnce), or just before curl closes it (CloseSocketCb).
  struct Sock {
    uint32_t registered = 0;  // the events in the epoll set (valid when in_epoll)
    bool in_epoll = false;
    bool wanted = false;  // curl currently wants events on it
  };
  std::unordered_map<curl_socket_t, Sock> socks;

  struct Watch {
    FdWatcher* watcher;
    uint32_t events;
  };
  std::unordered_map<int, Watch> watches;  // fds of other I/O sources (not libcurl's)
  int other_pending = 0;

  void Register(curl_socket_t s, uint32_t events) {
    Sock& k = socks[s];
    k.wanted = true;
    if (k.in_epoll && k.registered == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = s;
    if (k.in_epoll) {
      if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
      }
    } else if (epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
      epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
    }
    k.in_epoll = true;
    k.registered = events;
  }

  // Takes `s` out of the epoll set and forgets it.
  void Forget(curl_socket_t s) {
    auto it = socks.find(s);
    if (it == socks.end()) return;
    if (it->second.in_epoll) {
      epoll_event ev{};
      epoll_ctl(epfd, EPOLL_CTL_DEL, s, &ev);
    }
    socks.erase(it);
  }

  static int SocketCb(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      auto it = self->socks.find(s);
      if (it != self->socks.end()) it->second.wanted = false;
      return 0;
    }
    uint32_t events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= EPOLLOUT;
    self->Register(s, events);
    return 0;
  }

  // CURLOPT_OPENSOCKETFUNCTION: close-on-exec sockets (the local backend spawns processes),
  // and a fresh table entry (curl closes some sockets it never published without the close
  // callback; their number may come back here).
  static curl_socket_t OpenSocketCb(void* clientp, curlsocktype, curl_sockaddr* a) {
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    static_cast<Impl*>(clientp)->socks.erase(fd);
    return fd;
  }

  // CURLOPT_CLOSESOCKETFUNCTION: the registration goes before the descriptor does (epoll
  // keys on the open file, which a forked child may still hold).
  static int CloseSocketCb(void* clientp, curl_socket_t s) {
    static_cast<Impl*>(clientp)->Forget(s);
    return close(s);
  }

  static int TimerCb(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    self->curl_deadline_us = timeout_ms < 0 ? -1 : NowUs() + int64_t{timeout_ms} * 1000;
    return 0;
  }

  void ReapFinished() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      int code = msg->data.result;
      curl_multi_remove_handle(multi, easy);
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      auto done = std::move(it->second);
      transfers.erase(it);
      if (done) done(code);
    }
  }

  void SocketAction(curl_socket_t s, int mask) {
    int running = 0;
    curl_multi_socket_action(multi, s, mask, &running);
    ReapFinished();
  }

  bool RunPosted() {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard<std::mutex> lock(post_mu);
      fns.swap(posted);
    }
    for (auto& fn : fns) fn();
    return !fns.empty();
  }

  void FireTimers() {
    // Fire only timers that exist and are due now: a timer added by a callback
    // (even with delay 0) waits for the next iteration.
    const int64_t now = NowUs();
    const TimerId limit = next_timer;
    while (!timers.empty()) {
      auto it = timers.begin();
      if (it->first.deadline_us > now) break;
      // Timers are ordered by deadline; skip (but keep) new ones.
      auto pick = it;
      while (pick != timers.end() && pick->first.deadline_us <= now && pick->first.id >= limit) {
        ++pick;
      }
      if (pick == timers.end() || pick->first.deadline_us > now) break;
      auto fn = std::move(pick->second);
      timer_deadline.erase(pick->first.id);
      timers.erase(pick);
      fn();
    }
  }

  bool Pending() {
    if (!transfers.empty() || !timers.empty() || other_pending > 0) return true;
    std::lock_guard<std::mutex> lock(post_mu);
    return !posted.empty();
  }
};

IoLoop::IoLoop() : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  impl_->epfd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->epfd < 0 || impl_->wakefd < 0) {
    std::fprintf(stderr, "parallelagram: cannot create the I/O loop (out of file descriptors?)\n");
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = impl_->wakefd;
  epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, impl_->wakefd, &ev);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETFUNCTION, &Impl::SocketCb);
  curl_multi_setopt(impl_->multi, CURLMOPT_SOCKETDATA, impl_.get());
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERFUNCTION, &Impl::TimerCb);
  curl_multi_setopt(impl_->multi, CURLMOPT_TIMERDATA, impl_.get());
}

IoLoop::~IoLoop() {
  for (auto& [easy, done] : impl_->transfers) curl_multi_remove_handle(impl_->multi, easy);
  impl_->transfers.clear();
  curl_multi_cleanup(impl_->multi);
  close(impl_->wakefd);
  close(impl_->epfd);
}

IoLoop::TimerId IoLoop::AddTimer(int64_t delay_ms, std::function<void()> fn) {
  TimerId id = impl_->next_timer++;
  int64_t deadline = NowUs() + (delay_ms > 0 ? delay_ms * 1000 : 0);
  impl_->timers.emplace(Impl::TimerKey{deadline, id}, std::move(fn));
  impl_->timer_deadline.emplace(id, deadline);
  return id;
}

void IoLoop::CancelTimer(TimerId id) {
  auto it = impl_->timer_deadline.find(id);
  if (it == impl_->timer_deadline.end()) return;
  impl_->timers.erase(Impl::TimerKey{it->second, id});
  impl_->timer_deadline.erase(it);
}

void IoLoop::RunOnce(int max_wait_ms) {
  Impl& s = *impl_;
  // How long may we sleep? Until the earliest of: caller's bound, our next
  // timer, curl's timeout. Posted work means no sleep at all.
  int64_t now = NowUs();
  int64_t wait_us = max_wait_ms < 0 ? int64_t{1} << 40 : int64_t{max_wait_ms} * 1000;
  if (!s.timers.empty()) wait_us = std::min(wait_us, s.timers.begin()->first.deadline_us - now);
  if (s.curl_deadline_us >= 0) wait_us = std::min(wait_us, s.curl_deadline_us - now);
  {
    std::lock_guard<std::mutex> lock(s.post_mu);
    if (!s.posted.empty()) wait_us = 0;
  }
  if (wait_us < 0) wait_us = 0;
  int wait_ms = static_cast<int>(std::min<int64_t>((wait_us + 999) / 1000, 1 << 30));

  epoll_event events[256];
  int n = epoll_wait(s.epfd, events, 256, wait_ms);
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == s.wakefd) {
      uint64_t v;
      while (read(s.wakefd, &v, sizeof v) > 0) {
      }
      continue;
    }
    if (!s.watches.empty()) {
      auto w = s.watches.find(fd);
      if (w != s.watches.end()) {
        w->second.watcher->OnFdReady(events[i].events);
        continue;
      }
    }
    auto known = s.socks.find(fd);
    if (known == s.socks.end() || !known->second.wanted) {
      // Not (or no longer) curl's, e.g. an idle connection the server closed: stop it from
      // waking us again (curl finds it dead when it next looks at it).
      epoll_event ev{};
      epoll_ctl(s.epfd, EPOLL_CTL_DEL, fd, &ev);
      if (known != s.socks.end()) s.socks.erase(known);
      continue;
    }
    int mask = 0;
    if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
    s.SocketAction(fd, mask);
  }
  if (s.curl_deadline_us >= 0 && s.curl_deadline_us <= NowUs()) {
    s.curl_deadline_us = -1;
    s.SocketAction(CURL_SOCKET_TIMEOUT, 0);
  }
  s.RunPosted();
  s.FireTimers();
  // Transfers added by callbacks above may already be finished (e.g. a failed
  // DNS lookup); reap them now rather than after the next wait.
  s.ReapFinished();
}

void IoLoop::Run() {
  impl_->stop = false;
  while (!impl_->stop && impl_->Pending()) RunOnce(-1);
}

void IoLoop::Stop() {
  impl_->stop = true;
  uint64_t one = 1;
  [[maybe_unused]] auto r = write(impl_->wakefd, &one, sizeof one);
}

void IoLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(impl_->post_mu);
    impl_->posted.push_back(std::move(fn));
  }
  uint64_t one = 1;
  [[maybe_unused]] auto r = write(impl_->wakefd, &one, sizeof one);
}

int IoLoop::active_transfers() const {
  return static_cast<int>(impl_->transfers.size()) + impl_->other_pending;
}

void IoLoop::WatchFd(int fd, uint32_t events, FdWatcher* watcher) {
  Impl& s = *impl_;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  auto it = s.watches.find(fd);
  if (it != s.watches.end()) {
    it->second.watcher = watcher;
    if (it->second.events == events) return;
    it->second.events = events;
    epoll_ctl(s.epfd, EPOLL_CTL_MOD, fd, &ev);
    return;
  }
  // A number libcurl used before may still sit in the set (curl's closed sockets
  // are removed lazily): take it over.
  s.socks.erase(fd);
  if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
    epoll_ctl(s.epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  s.watches.emplace(fd, Impl::Watch{watcher, events});
}

void IoLoop::UnwatchFd(int fd) {
  Impl& s = *impl_;
  auto it = s.watches.find(fd);
  if (it == s.watches.end()) return;
  epoll_event ev{};
  epoll_ctl(s.epfd, EPOLL_CTL_DEL, fd, &ev);
  s.watches.erase(it);
}

void IoLoop::AddPending(int delta) { impl_->other_pending += delta; }

CURLM* IoLoop::multi() { return impl_->multi; }

void IoLoop::AddTransfer(CURL* easy, std::function<void(int)> done) {
  // A connection keeps the close callback of the transfer that opened it.
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Impl::OpenSocketCb);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, impl_.get());
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &Impl::CloseSocketCb);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, impl_.get());
  CURLMcode rc = curl_multi_add_handle(impl_->multi, easy);
  if (rc != CURLM_OK) {
    // Report as a failed transfer on the next iteration, never re-entrantly.
    AddTimer(0, [done = std::move(done)]() mutable {
      if (done) done(CURLE_FAILED_INIT);
    });
    return;
  }
  impl_->transfers.emplace(easy, std::move(done));
}

void IoLoop::CancelTransfer(CURL* easy) {
  auto it = impl_->transfers.find(easy);
  if (it == impl_->transfers.end()) return;
  curl_multi_remove_handle(impl_->multi, easy);
  impl_->transfers.erase(it);
}

uint64_t RaiseFileDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  return static_cast<uint64_t>(lim.rlim_cur);
}

}  // namespace parallelagram
