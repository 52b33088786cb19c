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

// The figures a run ends with, whatever ended it.
void finish_record(RunSummary& s, const RowBatcher& batcher) {
  RunRecord& r = s.record;
  r.requests_sent = s.fetch.requests_sent;
  r.retries = s.fetch.retries;
  r.responses_429 = s.fetch.rate_limited;
  r.rows_upserted = static_cast<std::int64_t>(batcher.rows_upserted());
  r.finished_at = now_utc();
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
  RunProgress progress;
  progress.cells_total = request.cells.size();
  for (const Cell& cell : request.cells) {
    progress.cells_left_by_project[cell.project_index] += 1;
    summary.cells_by_project[cell.project].planned += 1;
  }
  // Kept for the summary when the warehouse fails mid-run and fetch_cells never returns.
  FetchStats fetched_so_far;
  settings.on_tick = [&](const FetchStats& so_far) {
    fetched_so_far = so_far;
    progress.requests_sent = so_far.requests_sent;
    progress.retries = so_far.retries;
    if (request.on_progress) request.on_progress(progress);
  };
  try {
    summary.fetch = fetch_cells(
        settings, request.cells, request.api_keys,
        [&](CellResult&& result) {
          const Cell& cell = request.cells[result.cell_index];
          ProjectCells& project = summary.cells_by_project[cell.project];
          progress.cells_done += 1;
          progress.cells_left_by_project[cell.project_index] -= 1;
          if (result.ok) {
            record.cells_succeeded += 1;
            project.succeeded += 1;
            batcher.add_row(to_row(cell, result, request.snapshot_at, record.run_id));
          } else {
            record.cells_failed += 1;
            project.failed += 1;
            progress.cells_failed += 1;
            log::warning("cell failed", {{"project", cell.project}, {"window", cell.window_name},
                                         {"segment", cell.segment}, {"error", result.error}});
            batcher.add_failure(to_failure(cell, result, record.run_id));
          }
        },
        stop_signal);
    batcher.flush();
  } catch (const std::exception& e) {
    // The warehouse failed mid-run: what was committed stays. The run ends here, reported
    // like any other (summary line, metrics file), with the error's exit code (74).
    const EtlError* etl = dynamic_cast<const EtlError*>(&e);
    summary.fetch = std::move(fetched_so_far);
    summary.exit_code = etl != nullptr ? etl->code() : ExitCode::internal;
    record.status = "failed";
    record.message = e.what();
    finish_record(summary, batcher);
    try {
      warehouse.finish_run(record);  // may well fail too: the warehouse is what broke
    } catch (const std::exception&) {
    }
    return summary;
  }
  finish_record(summary, batcher);
  decide_outcome(summary, stop_signal.load());
  warehouse.finish_run(record);
  return summary;
}

std::string summary_message(const RunSummary& s) { return "run " + s.record.status; }

log::Fields summary_fields(const RunSummary& s) {
  const RunRecord& r = s.record;
  log::Fields fields = {{"snapshot", format_iso8601(r.snapshot_at)},
                        {"cells_planned", std::to_string(r.cells_planned)},
                        {"cells_stored", std::to_string(r.cells_succeeded)},
                        {"cells_failed", std::to_string(r.cells_failed)},
                        {"rows_upserted", std::to_string(r.rows_upserted)},
                        {"requests", std::to_string(s.fetch.requests_sent)},
                        {"retries", std::to_string(s.fetch.retries)},
                        {"responses_429", std::to_string(s.fetch.rate_limited)},
                        {"duration_s", std::to_string(r.finished_at.value_or(r.started_at) - r.started_at)},
                        {"run_id", r.run_id}};
  if (!r.message.empty()) fields.push_back({"message", r.message});
  return fields;
}

}  // namespace qetl
