#include "runner/stop_signal.hpp"

#include <unistd.h>

#include <csignal>

namespace qetl {
namespace {
std::atomic<int> g_stop{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_stop.compare_exchange_strong(expected, sig)) {
    // The second signal: the user wants out now. _exit is async-signal-safe; 128 + signal is
    // what a shell reports for a process killed by it.
    ::_exit(128 + sig);
  }
}
}  // namespace

std::atomic<int>& stop_signal() { return g_stop; }

void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace qetl
