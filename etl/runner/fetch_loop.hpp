#pragma once
// The network half of a run: fetches every cell once, each project paced to its own rate
// with at most `concurrency` requests in flight, retrying what may succeed later. It knows
// nothing of the warehouse: finished cells are handed to a callback as they arrive.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/backoff.hpp"
#include "config/config.hpp"
#include "matrix/cell.hpp"
#include "model/metrics.hpp"

namespace qetl {

// The outcome of one cell, once no more attempts will be made.
struct CellResult {
  std::size_t cell_index = 0;
  bool ok = false;
  Metrics metrics;           // when ok
  UnixSeconds fetched_at = 0;
  int attempts = 0;
  std::optional<int> last_http_status;
  std::string error;         // when !ok: one line, key masked
};

enum class FetchEnd {
  completed,       // every cell has a result
  interrupted,     // the stop flag was raised
  wrong_base_url,  // a 404: nothing else will work either
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
  std::vector<std::string> rejected_projects;        // 401/403
  std::map<std::string, ProjectRequests> by_project;  // project name -> its share of the above
  std::string fatal_message;                          // for wrong_base_url
  FetchEnd end = FetchEnd::completed;
};

struct FetchSettings {
  ApiConfig api;
  BackoffPolicy backoff;
  std::string user_agent;
  // Called on the fetching thread about every 100 ms with the figures so far (progress line).
  std::function<void(const FetchStats&)> on_tick;
};

// Fetches `cells` (the keys are indexed like Config::projects). `on_result` is called on
// this thread for every cell that finished. `stop` is polled at least every 100 ms.
FetchStats fetch_cells(const FetchSettings& settings, const std::vector<Cell>& cells,
                       const std::vector<std::string>& api_keys,
                       const std::function<void(CellResult&&)>& on_result, const std::atomic<int>& stop);

}  // namespace qetl
