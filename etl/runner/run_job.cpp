#include "runner/run_job.hpp"
#include "runner/row_batcher.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "util/log.hpp"
#include "version.hpp"

namespace qetl {
namespace {

std::string new_run_id() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // UUID version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

MetricsRow to_row(const Cell& cell, const CellResult& result, UnixSeconds snapshot, const std::string& run_id) {
  MetricsRow row;
  row.snapshot_at = snapshot;
  row.project = cell.project;
  row.environment = cell.environment;
  row.window_name = cell.window_name;
  row.window_kind = to_string(cell.window_kind);
  row.window_from = cell.window_from;
  row.window_to = cell.window_to;
  row.segment = cell.segment;
  for (const CellFilter& f : cell.filters) {
    if (auto i = dimension_index(f.dimension)) row.dimensions[*i] = f.label;
  }
  row.metrics = result.metrics;
  row.fetched_at = result.fetched_at;
  row.run_id = run_id;
  return row;
}

CellFailure to_failure(const Cell& cell, const CellResult& result, const std::string& run_id) {
  CellFailure f;
  f.run_id = run_id;
  f.project = cell.project;
  f.environment = cell.environment;
  f.window_name = cell.window_name;
  f.window_from = cell.window_from;
  f.segment = cell.segment;
  f.attempts = result.attempts;
  f.last_http_status = result.last_http_status;
  f.error = result.error;
  return f;
}

// Status and exit code from what happened, most severe first (SPEC "Exit codes").
void decide_outcome(RunSummary& s, int stop_signal) {
  RunRecord& r = s.record;
  const FetchStats& f = s.fetch;
  if (f.end == FetchEnd::interrupted) {
    r.status = "interrupted";
    s.exit_code = stop_signal == 2 ? ExitCode::interrupted_sigint : ExitCode::interrupted_sigterm;
    r.message = "stopped by signal " + std::to_string(stop_signal);
  } else if (f.end == FetchEnd::wrong_base_url) {
    r.status = "failed";
    s.exit_code = ExitCode::config;
    r.message = "the API answered 404: check api.base_url (" + f.fatal_message + ")";
  } else if (!f.rejected_projects.empty()) {
    r.status = r.cells_succeeded > 0 ? "partial" : "failed";
    s.exit_code = ExitCode::api_key_rejected;
    std::string names;
    for (const auto& p : f.rejected_projects) names += (names.empty() ? "" : ", ") + p;
    r.message = "API key rejected for project(s): " + names;
  } else if (r.cells_failed == 0) {
    r.status = "succeeded";
    s.exit_code = ExitCode::ok;
  } else if (r.cells_succeeded == 0 && f.requests_sent > 0 && f.transport_failures == f.requests_sent) {
    r.status = "failed";
    s.exit_code = ExitCode::api_unreachable;
    r.message = "the API could not be reached at all";
  } else {
    r.status = r.cells_succeeded > 0 ? "partial" : "failed";
    s.exit_code = ExitCode::cells_failed;
    r.message = std::to_string(r.cells_failed) + " cell(s) failed; see etl_cell_failures";
  }
}

}  // namespace

RunSummary run_job(const RunRequest& request, Warehouse& warehouse, const std::atomic<int>& stop_signal) {
  const Config& config = *request.config;
  RunSummary summary;
  RunRecord& record = summary.record;
  record.run_id = new_run_id();
  record.started_at = now_utc();
  record.snapshot_at = request.snapshot_at;
  record.cells_planned = static_cast<std::int64_t>(request.cells.size());
  record.version = kVersion;
  record.config_sha256 = config.sha256;
  record.host = host_name();
  warehouse.start_run(record);
  log::info("run started", {{"run_id", record.run_id}, {"snapshot", format_iso8601(request.snapshot_at)},
                            {"cells", std::to_string(request.cells.size())},
                            {"skipped_by_resume", std::to_string(request.cells_skipped_by_resume)},
                            {"warehouse", warehouse.backend()}});

  RowBatcher batcher(warehouse, kBatchRows, std::chrono::milliseconds(kBatchMillis));
  FetchSettings settings;
  settings.api = config.api;
  settings.user_agent = std::string("qonversion-etl/") + kVersion;
  try {
    summary.fetch = fetch_cells(
        settings, request.cells, request.api_keys,
        [&](CellResult&& result) {
          const Cell& cell = request.cells[result.cell_index];
          if (result.ok) {
            record.cells_succeeded += 1;
            batcher.add_row(to_row(cell, result, request.snapshot_at, record.run_id));
          } else {
            record.cells_failed += 1;
            log::warning("cell failed", {{"project", cell.project}, {"window", cell.window_name},
                                         {"segment", cell.segment}, {"error", result.error}});
            batcher.add_failure(to_failure(cell, result, record.run_id));
          }
        },
        stop_signal);
    batcher.flush();
  } catch (const std::exception& e) {
    // The warehouse failed mid-run: what was committed stays; try to say so in etl_runs.
    record.status = "failed";
    record.finished_at = now_utc();
    record.rows_upserted = static_cast<std::int64_t>(batcher.rows_upserted());
    record.message = e.what();
    try {
      warehouse.finish_run(record);
    } catch (const std::exception&) {
    }
    throw;
  }
  record.requests_sent = summary.fetch.requests_sent;
  record.rows_upserted = static_cast<std::int64_t>(batcher.rows_upserted());
  record.finished_at = now_utc();
  decide_outcome(summary, stop_signal.load());
  warehouse.finish_run(record);
  return summary;
}

std::string summary_line(const RunSummary& s) {
  const RunRecord& r = s.record;
  std::ostringstream out;
  out << "run " << r.status << ": snapshot=" << format_iso8601(r.snapshot_at) << " cells_planned=" << r.cells_planned
      << " cells_stored=" << r.cells_succeeded << " cells_failed=" << r.cells_failed
      << " rows_upserted=" << r.rows_upserted << " requests=" << s.fetch.requests_sent
      << " retries=" << s.fetch.retries << " http_429=" << s.fetch.rate_limited
      << " duration_s=" << (r.finished_at.value_or(r.started_at) - r.started_at) << " run_id=" << r.run_id;
  if (!r.message.empty()) out << " message=\"" << r.message << "\"";
  return out.str();
}

}  // namespace qetl
