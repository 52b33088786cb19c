#pragma once
// SIGTERM/SIGINT raise a flag that the fetch loop polls; the handler does nothing else
// (only async-signal-safe work is allowed there).
#include <atomic>

namespace qetl {

// Holds the number of the first stop signal received, 0 until then.
std::atomic<int>& stop_signal();
void install_stop_signal_handlers();

}  // namespace qetl
