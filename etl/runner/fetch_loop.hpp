#pragma once
// The network half of a run: fetches every cell once, paced per API key, with at most
// `concurrency` requests of a project in flight, retrying what may succeed later, and acting on
// each answer as the failure table says (api/failure_policy.cpp). It knows nothing of the
// warehouse: finished cells are handed to a callback as they arrive. Time and HTTP are injected
// (Clock, Transport), so every path is unit-tested in simulated time.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/backoff.hpp"
#include "api/transport.hpp"
#include "config/config.hpp"
#include "matrix/cell.hpp"
#include "model/metrics.hpp"
#include "util/clock.hpp"
#include "util/errors.hpp"

namespace qetl {

// The outcome of one cell, once no more attempts will be made.
struct CellResult {
  std::size_t cell_index = 0;
  bool ok = false;
  Metrics metrics;           // when ok
  UnixSeconds fetched_at = 0;
  int attempts = 0;
  std::optional<int> last_http_status;
  std::string error;         // when !ok: one line of valid UTF-8, key cut out
};

enum class FetchEnd {
  completed,    // every cell has a result, or its project stopped or gave up
  interrupted,  // the stop flag was raised
  stopped,      // an answer that stops the run (3xx, 404, untrusted TLS): see stop_exit_code
};

// What one project's requests came to; FetchStats keeps one per project for per-project
// figures (the metrics file's `project` label).
struct ProjectRequests {
  std::int64_t requests_sent = 0;
  std::int64_t retries = 0;
  std::int64_t rate_limited = 0;
  std::map<long, std::int64_t> responses_by_status;
};

struct FetchStats {
  std::int64_t requests_sent = 0;
  std::int64_t retries = 0;
  std::int64_t rate_limited = 0;  // 429 answers
  std::int64_t transport_failures = 0;
  std::map<long, std::int64_t> responses_by_status;  // 0 = no answer (transport failure)
  std::vector<std::string> rejected_projects;        // 401/403: stopped
  std::vector<std::string> given_up_projects;        // no usable answer for give_up_after_seconds
  std::int64_t cells_not_tried = 0;                  // of projects that gave up: left for --resume
  std::size_t projects = 0;                          // projects with cells in this fetch
  std::map<std::string, ProjectRequests> by_project;  // project name -> its share of the above
  std::string fatal_message;                          // FetchEnd::stopped: why
  ExitCode stop_exit_code = ExitCode::ok;             // FetchEnd::stopped: the run's exit code
  FetchEnd end = FetchEnd::completed;
};

struct FetchSettings {
  ApiConfig api;
  BackoffPolicy backoff;
  double max_retry_wait_seconds = 300;  // cap on any one wait: backoff or Retry-After
  double give_up_after_seconds = 900;   // a project with no usable answer this long stops
  std::string user_agent;
  // Called on the fetching thread at least every 100 ms (simulated or real) with the figures so
  // far: the progress line, and the batcher's commit by age.
  std::function<void(const FetchStats&)> on_tick;
  // Uniform in [0, 1) for the backoff's jitter; default: a random engine seeded by the OS.
  std::function<double()> unit_random;
};

// Fetches `cells` (the keys are indexed like Config::projects). `on_result` is called on this
// thread for every cell that finished. `stop` is polled at least every 100 ms.
FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys, const std::function<void(CellResult&&)>& on_result,
                       const std::atomic<int>& stop, Transport& transport, const Clock& clock);

// The same over libcurl (HttpClient) and the system clock.
FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys, const std::function<void(CellResult&&)>& on_result,
                       const std::atomic<int>& stop);

}  // namespace qetl
