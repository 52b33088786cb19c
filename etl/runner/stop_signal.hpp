#pragma once
// SIGTERM/SIGINT raise a flag that the fetch loop, the final commit and the Metabase call poll:
// the run stops sending, commits what has arrived and exits 143/130. A second signal ends the
// process at once (an operator pressing Ctrl-C twice, systemd's stop timeout): what is committed
// stays committed, and the next run marks this one's etl_runs row interrupted. The handler only
// does async-signal-safe work.
#include <atomic>

namespace qetl {

// Holds the number of the first stop signal received, 0 until then.
std::atomic<int>& stop_signal();
void install_stop_signal_handlers();

}  // namespace qetl
