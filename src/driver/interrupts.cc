#include "driver/interrupts.h"

#include <atomic>

namespace parallelagram::driver {
namespace {

std::atomic<int> g_sigint{0};
std::atomic<int> g_sigterm{0};
static_assert(std::atomic<int>::is_always_lock_free);

void OnSignal(int sig) {
  if (sig == SIGINT) {
    g_sigint.fetch_add(1, std::memory_order_relaxed);
  } else {
    g_sigterm.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

SignalInterrupts::SignalInterrupts() {
  g_sigint = 0;
  g_sigterm = 0;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

SignalInterrupts::~SignalInterrupts() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int SignalInterrupts::sigint_count() const { return g_sigint.load(std::memory_order_relaxed); }
int SignalInterrupts::sigterm_count() const { return g_sigterm.load(std::memory_order_relaxed); }

}  // namespace parallelagram::driver
