#pragma once
// One `run`: records the run in etl_runs, fetches every cell, upserts rows in batches,
// records failed cells, and decides the run's status and exit code.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "matrix/cell.hpp"
#include "runner/fetch_loop.hpp"
#include "util/clock.hpp"
#include "util/errors.hpp"
#include "util/log.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {

// Where a run stands, for the progress line.
struct RunProgress {
  std::size_t cells_total = 0;
  std::size_t cells_done = 0;  // stored or failed for good
  std::size_t cells_failed = 0;
  std::int64_t requests_sent = 0;
  std::int64_t retries = 0;
  std::map<std::size_t, std::size_t> cells_left_by_project;  // project index -> cells not done
};

struct RunRequest {
  const Config* config = nullptr;
  std::vector<Cell> cells;               // already filtered (shard, resume)
  std::vector<std::string> api_keys;     // indexed like config->projects
  UnixSeconds snapshot_at = 0;
  std::string shard = "all";             // "K/N" for --shard K/N: the run's scope in etl_runs
  std::size_t cells_skipped_by_resume = 0;
  std::function<void(const RunProgress&)> on_progress;  // optional; called about every 100 ms
  // HTTP and time; null: libcurl and the system clock (tests inject simulated ones).
  Transport* transport = nullptr;
  const Clock* clock = nullptr;
};

// One project's cells in a run (the metrics file's `project` label).
struct ProjectCells {
  std::int64_t planned = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
};

struct RunSummary {
  RunRecord record;
  std::vector<std::string> stale_runs_closed;  // earlier runs of this scope found `running`
  FetchStats fetch;
  std::map<std::string, ProjectCells> cells_by_project;
  // Data-check findings by (check, severity), every check present; empty when the checks did
  // not run (an interrupted run, a warehouse error).
  std::map<std::pair<std::string, std::string>, std::int64_t> findings;
  ExitCode exit_code = ExitCode::ok;
};

// Cells of a run are batched up to this many rows or this many milliseconds. At the API's pace
// the age decides (every 5 s); when answers come fast, a larger batch halves the per-row cost
// of the upsert on PostgreSQL (bench/: 500 rows a batch loaded at 0.44 of COPY, 5,000 at ~0.6).
// A batch of 5,000 rows is ~3 MB.
inline constexpr std::size_t kBatchRows = 5000;
inline constexpr int kBatchMillis = 5000;

// A new run_id: a random UUID (version 4), for a run or a `check`.
std::string new_run_id();

RunSummary run_job(const RunRequest& request, Warehouse& warehouse, const std::atomic<int>& stop_signal);

// The one line every run ends with (also what journald keeps): "run <status>" and these
// fields: snapshot, cells planned/stored/failed, rows upserted, requests, retries, 429s,
// duration, run_id (and the message when there is one).
std::string summary_message(const RunSummary& summary);
log::Fields summary_fields(const RunSummary& summary);

}  // namespace qetl
