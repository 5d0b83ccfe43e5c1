#include "cli/signal_stop.h"

#include <atomic>

namespace parallelagram::cli {
namespace {

std::atomic<driver::StopRequest*> g_stop{nullptr};
std::atomic<int> g_sigint{0};
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<driver::StopRequest*>::is_always_lock_free);

void OnSignal(int sig) {
  driver::StopRequest* stop = g_stop.load();
  if (!stop) return;
  if (sig == SIGTERM) {
    stop->Abandon(driver::Interruption::kCancelled);
  } else if (g_sigint.fetch_add(1) == 0) {
    stop->Drain();
  } else {
    stop->Abandon(driver::Interruption::kInterrupted);
  }
}

}  // namespace

SignalStop::SignalStop(driver::StopRequest& stop) {
  g_sigint = 0;
  g_stop = &stop;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

SignalStop::~SignalStop() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_stop = nullptr;
}

}  // namespace parallelagram::cli
