#pragma once
// One `run`: records the run in etl_runs, fetches every cell, upserts rows in batches,
// records failed cells, and decides the run's status and exit code.
#include <atomic>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "matrix/cell.hpp"
#include "runner/fetch_loop.hpp"
#include "util/errors.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {

struct RunRequest {
  const Config* config = nullptr;
  std::vector<Cell> cells;               // already filtered (shard, resume)
  std::vector<std::string> api_keys;     // indexed like config->projects
  UnixSeconds snapshot_at = 0;
  std::size_t cells_skipped_by_resume = 0;
};

struct RunSummary {
  RunRecord record;
  FetchStats fetch;
  ExitCode exit_code = ExitCode::ok;
};

// Cells of a run are batched up to this many rows or this many milliseconds.
inline constexpr std::size_t kBatchRows = 500;
inline constexpr int kBatchMillis = 5000;

RunSummary run_job(const RunRequest& request, Warehouse& warehouse, const std::atomic<int>& stop_signal);

// The one line every run ends with (also what journald keeps).
std::string summary_line(const RunSummary& summary);

}  // namespace qetl
