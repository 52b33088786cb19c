#include "runner/run_job.hpp"
#include "runner/row_batcher.hpp"

#include <memory>

#include <unistd.h>

#include <cstdio>
#include <random>
#include <sstream>

#include "util/log.hpp"
#include "version.hpp"

namespace qetl {
namespace {

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

// The figures a run ends with, whatever ended it. Cells stored and rows upserted were counted
// as their commits returned (RowBatcher), never as answers arrived.
void finish_record(RunSummary& s, const RowBatcher& batcher, const Clock& clock) {
  RunRecord& r = s.record;
  r.requests_sent = s.fetch.requests_sent;
  r.retries = s.fetch.retries;
  r.responses_429 = s.fetch.rate_limited;
  r.rows_upserted = static_cast<std::int64_t>(batcher.rows_upserted());
  r.finished_at = clock.unix_now();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Status and exit code from what happened, most severe first (SPEC "Exit codes").
void decide_outcome(RunSummary& s, int stop_signal) {
  RunRecord& r = s.record;
  const FetchStats& f = s.fetch;
  const auto stored_or_failed = [&](const char* when_some_stored) {
    return r.cells_succeeded > 0 ? std::string(when_some_stored) : std::string("failed");
  };
  if (stop_signal != 0) {
    // Also when the signal came after the last answer (during the final commit): the run was
    // asked to stop, and says so.
    r.status = "interrupted";
    s.exit_code = stop_signal == 2 ? ExitCode::interrupted_sigint : ExitCode::interrupted_sigterm;
    r.message = "stopped by signal " + std::to_string(stop_signal);
  } else if (f.end == FetchEnd::stopped) {
    r.status = "failed";
    s.exit_code = f.stop_exit_code;
    r.message = f.fatal_message;
  } else if (!f.rejected_projects.empty()) {
    r.status = stored_or_failed("partial");
    s.exit_code = ExitCode::api_key_rejected;
    r.message = "API key rejected for project(s): " + joined(f.rejected_projects);
  } else if (!f.given_up_projects.empty() && f.given_up_projects.size() == f.projects) {
    r.status = stored_or_failed("partial");
    s.exit_code = ExitCode::api_unreachable;
    r.message = "no usable answer from the API for api.give_up_after_seconds; " +
                std::to_string(f.cells_not_tried) + " cell(s) not tried: run --resume fetches them";
  } else if (r.cells_failed == 0 && f.given_up_projects.empty() && r.cells_succeeded == r.cells_planned) {
    r.status = "succeeded";
    s.exit_code = ExitCode::ok;
  } else if (r.cells_succeeded == 0 && f.requests_sent > 0 && f.transport_failures == f.requests_sent) {
    r.status = "failed";
    s.exit_code = ExitCode::api_unreachable;
    r.message = "the API could not be reached at all";
  } else {
    r.status = stored_or_failed("partial");
    s.exit_code = ExitCode::cells_failed;
    r.message = std::to_string(r.cells_failed) + " cell(s) failed; see etl_cell_failures";
    if (!f.given_up_projects.empty()) {
      r.message += "; no usable answer for project(s) " + joined(f.given_up_projects) + ", " +
                   std::to_string(f.cells_not_tried) + " cell(s) not tried: run --resume fetches them";
    }
  }
}

}  // namespace

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

RunSummary run_job(const RunRequest& request, Warehouse& warehouse, const std::atomic<int>& stop_signal) {
  const Config& config = *request.config;
  const SystemClock system_clock;
  const Clock& clock = request.clock != nullptr ? *request.clock : system_clock;
  RunSummary summary;
  RunRecord& record = summary.record;
  record.run_id = new_run_id();
  record.started_at = clock.unix_now();
  record.snapshot_at = request.snapshot_at;
  record.cells_planned = static_cast<std::int64_t>(request.cells.size());
  record.version = kVersion;
  record.config_sha256 = config.sha256;
  record.host = host_name();
  for (const ProjectConfig& p : config.projects) record.projects.push_back(p.name);
  record.shard = request.shard;
  // The caller holds the locks of this scope: a `running` row of it belongs to a dead process.
  summary.stale_runs_closed = warehouse.close_stale_runs(record);
  for (const std::string& stale : summary.stale_runs_closed) {
    log::warning("an earlier run of this scope was left running (its process is gone): marked interrupted",
                 {{"stale_run_id", stale}, {"run_id", record.run_id}});
  }
  warehouse.start_run(record);
  log::info("run started", {{"run_id", record.run_id}, {"snapshot", format_iso8601(request.snapshot_at)},
                            {"cells", std::to_string(request.cells.size())},
                            {"skipped_by_resume", std::to_string(request.cells_skipped_by_resume)},
                            {"warehouse", warehouse.backend()}});

  RunProgress progress;
  progress.cells_total = request.cells.size();
  for (const Cell& cell : request.cells) {
    progress.cells_left_by_project[cell.project_index] += 1;
    summary.cells_by_project[cell.project].planned += 1;
  }
  auto record_failure = [&](const Cell& cell, const CellResult& result) {
    record.cells_failed += 1;
    summary.cells_by_project[cell.project].failed += 1;
    progress.cells_failed += 1;
    log::warning("cell failed", {{"project", cell.project}, {"window", cell.window_name},
                                 {"window_from", format_iso8601(cell.window_from)}, {"segment", cell.segment},
                                 {"error", result.error}});
  };
  std::unique_ptr<RowBatcher> batcher_holder;
  // A commit is what makes a cell stored; a row the warehouse refused makes its cell failed.
  const auto on_commit = [&](const CommitOutcome& outcome) {
    for (const std::size_t i : outcome.stored) {
      record.cells_succeeded += 1;
      summary.cells_by_project[request.cells[i].project].succeeded += 1;
    }
    for (const auto& [i, reason] : outcome.refused) {
      const Cell& cell = request.cells[i];
      CellResult refused;
      refused.cell_index = i;
      refused.attempts = 1;
      refused.last_http_status = 200;
      refused.error = "the warehouse refused the row: " + reason;
      record_failure(cell, refused);
      batcher_holder->add_failure(to_failure(cell, refused, record.run_id));
    }
  };
  batcher_holder = std::make_unique<RowBatcher>(warehouse, kBatchRows, std::chrono::milliseconds(kBatchMillis), clock,
                                                on_commit);
  RowBatcher& batcher = *batcher_holder;

  FetchSettings settings;
  settings.api = config.api;
  settings.max_retry_wait_seconds = config.api.max_retry_wait_seconds;
  settings.give_up_after_seconds = config.api.give_up_after_seconds;
  settings.user_agent = std::string("qonversion-etl/") + kVersion;
  // Kept for the summary when the warehouse fails mid-run and fetch_cells never returns.
  FetchStats fetched_so_far;
  settings.on_tick = [&](const FetchStats& so_far) {
    fetched_so_far = so_far;
    batcher.flush_if_due();  // rows commit by age also while the loop only waits
    progress.requests_sent = so_far.requests_sent;
    progress.retries = so_far.retries;
    if (request.on_progress) request.on_progress(progress);
  };
  const auto on_result = [&](CellResult&& result) {
    const Cell& cell = request.cells[result.cell_index];
    progress.cells_done += 1;
    progress.cells_left_by_project[cell.project_index] -= 1;
    if (result.ok) {
      batcher.add_row(result.cell_index, to_row(cell, result, request.snapshot_at, record.run_id));
    } else {
      record_failure(cell, result);
      batcher.add_failure(to_failure(cell, result, record.run_id));
    }
  };
  try {
    if (request.transport != nullptr) {
      summary.fetch = fetch_cells(settings, request.cells, request.api_keys, on_result, stop_signal,
                                  *request.transport, clock);
    } else {
      summary.fetch = fetch_cells(settings, request.cells, request.api_keys, on_result, stop_signal);
    }
    batcher.flush();
  } catch (const std::exception& e) {
    // The warehouse failed mid-run: what was committed stays, and is what the run reports
    // (summary line, etl_runs if it still answers, metrics file), with the error's exit code (74).
    const EtlError* etl = dynamic_cast<const EtlError*>(&e);
    if (summary.fetch.requests_sent == 0) summary.fetch = std::move(fetched_so_far);
    summary.exit_code = etl != nullptr ? etl->code() : ExitCode::internal;
    record.status = record.cells_succeeded > 0 ? "partial" : "failed";
    record.message = e.what();
    finish_record(summary, batcher, clock);
    try {
      warehouse.finish_run(record);  // may well fail too: the warehouse is what broke
    } catch (const std::exception&) {
    }
    return summary;
  }
  finish_record(summary, batcher, clock);
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
                        {"cells_not_tried", std::to_string(s.fetch.cells_not_tried)},
                        {"data_check_findings", std::to_string(r.data_check_findings)},
                        {"duration_s", std::to_string(r.finished_at.value_or(r.started_at) - r.started_at)},
                        {"run_id", r.run_id}};
  if (!r.message.empty()) fields.push_back({"message", r.message});
  return fields;
}

}  // namespace qetl
