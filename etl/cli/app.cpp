#include "cli/app.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "bi/metabase_notify.hpp"
#include "cli/options.hpp"
#include "cli/plan_text.hpp"
#include "cli/progress_line.hpp"
#include "config/config.hpp"
#include "config/snapshot_time.hpp"
#include "matrix/matrix.hpp"
#include "runner/data_check_step.hpp"
#include "runner/metrics_file.hpp"
#include "runner/run_job.hpp"
#include "runner/shard.hpp"
#include "runner/stop_signal.hpp"
#include "util/errors.hpp"
#include "util/log.hpp"
#include "version.hpp"
#include "warehouse/migrations.hpp"
#include "warehouse/warehouse_url.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::cli {
namespace {

// SPEC: a warehouse URL that cannot make a good night is a config error, found before anything
// is connected to or created, naming where the config says it.
void check_warehouse_url(const Config& config) {
  if (const auto problem = warehouse_url_problem(config.warehouse.url)) {
    throw ConfigError(config.warehouse.url_where.str() + ": " + *problem);
  }
}

// What every command that looks at cells needs, in the order SPEC promises: config first,
// validated completely before anything touches the network or the warehouse.
struct Plan {
  Config config;
  UnixSeconds snapshot = 0;
  std::vector<Cell> cells;
};

Plan make_plan(const Options& o) {
  Plan p;
  p.config = load_config(o.config_path);
  check_warehouse_url(p.config);
  p.snapshot = resolve_snapshot(o.snapshot, now_utc(), p.config.snapshot_grain);
  p.cells = expand_cells(p.config, p.snapshot);
  if (o.shard) p.cells = select_shard(std::move(p.cells), parse_shard(*o.shard));
  return p;
}

// The plan lines of `cells` and the closing count/duration line, on stdout. Line by line through
// stdio's buffer: a plan of 100,000 cells is ~25 MB of text, which need not sit in memory.
void print_plan(const Config& config, const std::vector<Cell>& cells) {
  for (const Cell& c : cells) {
    const std::string line = plan_line(config, c) + '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  const std::string footer = plan_footer(config, cells) + '\n';
  std::fwrite(footer.data(), 1, footer.size(), stdout);
  std::fflush(stdout);
}

int command_plan(const Options& o) {
  const Plan p = make_plan(o);
  print_plan(p.config, p.cells);
  return 0;
}

// --resume: the cells of the plan that have no row yet for the snapshot (all of them in a
// warehouse without tables). Moves the others out of `cells`; returns how many were skipped.
std::size_t keep_missing_cells(Warehouse& warehouse, UnixSeconds snapshot, std::vector<Cell>& cells) {
  if (warehouse.schema_version() == 0) return 0;
  const std::set<CellKey> stored = warehouse.stored_cells(snapshot);
  std::vector<Cell> missing;
  for (Cell& c : cells) {
    if (stored.count(CellKey{c.project, c.environment, c.window_name, c.window_from, c.segment}) == 0) {
      missing.push_back(std::move(c));
    }
  }
  const std::size_t skipped = cells.size() - missing.size();
  cells = std::move(missing);
  return skipped;
}

int command_migrate(const Options& o) {
  const Config config = load_config(o.config_path);
  check_warehouse_url(config);
  auto warehouse = open_warehouse(config.warehouse.url, config.warehouse.schema);
  const int before = warehouse->schema_version();
  const int applied = warehouse->migrate();
  if (o.rebuild) {
    warehouse->rebuild_derived();
    log::info("rebuilt the tables derived from customer_metrics", {{"warehouse", warehouse->backend()}});
  }
  log::info("schema up to date", {{"warehouse", warehouse->backend()}, {"from_version", std::to_string(before)},
                                  {"to_version", std::to_string(warehouse->schema_version())},
                                  {"applied", std::to_string(applied)}});
  return 0;
}

// SPEC "one run at a time": every project of the config, in the run's shard ("all" without
// --shard); throws LockedError (exit 75) naming the holder when another run of one of them holds
// cells that can overlap this run's (see shards_overlap).
std::unique_ptr<RunLock> lock_run(Warehouse& warehouse, const Config& config, const Options& o) {
  std::vector<std::string> projects;
  std::string names;
  for (const ProjectConfig& project : config.projects) {
    projects.push_back(project.name);
    names += (names.empty() ? "" : ",") + project.name;
  }
  std::string shard = "all";
  if (o.shard) {
    const Shard s = parse_shard(*o.shard);
    shard = std::to_string(s.index) + "/" + std::to_string(s.count);  // "01/2" locks as "1/2"
  }
  auto lock = warehouse.try_lock_run(projects, shard, this_process_holder(now_utc()));
  log::info("took the run lock", {{"warehouse", warehouse.backend()}, {"projects", names}, {"shard", shard}});
  return lock;
}

// [bi]: after a run that stored rows, ask Metabase to rescan. Nothing here changes the exit
// code: the rows are in the warehouse whether Metabase hears of them or not.
void notify_bi(const Config& config, const RunSummary& summary, const std::atomic<int>& stop) {
  // An interrupted run is being stopped (systemctl stop, shutdown): do not make it wait.
  if (!config.bi || summary.record.rows_upserted == 0 || summary.record.status == "interrupted") return;
  std::string key;
  try {
    key = resolve_secret(config.bi->metabase_api_key);
  } catch (const EtlError& e) {
    log::warning(std::string("Metabase not notified: ") + e.what());
    return;
  }
  const MetabaseNotifyResult result =
      notify_metabase(*config.bi, key, config.api.timeout_seconds, config.api.ca_file, &stop);
  const log::Fields fields = {{"database_id", std::to_string(config.bi->metabase_database_id)},
                              {"http_status", std::to_string(result.http_status)}};
  if (result.ok) {
    log::info("Metabase asked to rescan the schema", fields);
  } else {
    log::warning("Metabase not notified: " + result.message, fields);
  }
}

// The metrics file of a run that ended before it could start fetching (bad config, key
// source, warehouse down): node_exporter must see those nights fail too.
void write_failed_run_metrics(const std::string& path, UnixSeconds started_at, const EtlError& error) {
  RunSummary failed;
  failed.record.started_at = started_at;
  failed.record.finished_at = now_utc();
  failed.record.status = "failed";
  failed.exit_code = error.code();
  try {
    write_run_metrics(path, failed);
  } catch (const EtlError& e) {
    log::error(e.what());
  }
}

int run_command_run(const Options& o, std::optional<std::string>& metrics_file);

// SPEC "Data checks": after every run that was not stopped and whose warehouse still answers,
// the rows of the snapshot as stored so far (other shards' included) are checked. Findings
// change the exit code only when the run would otherwise exit 0 and [checks] fail_on says so:
// a partial run keeps its 1, so that systemd's restart fetches the missing cells first.
void run_data_checks(const Config& config, Warehouse& warehouse, RunSummary& summary, const std::atomic<int>& stop) {
  if (summary.record.status == "interrupted" || summary.exit_code == ExitCode::warehouse || stop.load() != 0) return;
  try {
    const CheckReport report = check_snapshot(config, warehouse, summary.record.snapshot_at, summary.record.run_id);
    summary.record.data_check_findings = static_cast<std::int64_t>(report.findings.size());
    summary.findings = report.counts;
    if (report.fails && summary.exit_code == ExitCode::ok) {
      summary.exit_code = ExitCode::data_checks_failed;
      summary.record.message = std::to_string(report.errors) + " error and " + std::to_string(report.warnings) +
                               " warning finding(s) of the data checks fail the run ([checks] fail_on); see "
                               "etl_data_checks";
    }
  } catch (const EtlError& e) {
    log::error(std::string("data checks could not run: ") + e.what());
    if (summary.exit_code == ExitCode::ok) summary.exit_code = e.code();
  }
}

// `check`: the data checks of one stored snapshot (default: the newest), again — after
// changing [checks], or for a snapshot loaded before the checks existed. Findings are printed
// (one tab-separated line each), replace the snapshot's earlier ones, and fail per fail_on.
int command_check(const Options& o) {
  const Config config = load_config(o.config_path);
  check_warehouse_url(config);
  auto warehouse = open_warehouse(config.warehouse.url, config.warehouse.schema);
  warehouse->migrate();
  Options unsharded = o;
  unsharded.shard.reset();
  const auto run_lock = lock_run(*warehouse, config, unsharded);
  std::vector<std::string> projects;
  for (const ProjectConfig& p : config.projects) projects.push_back(p.name);
  std::optional<UnixSeconds> snapshot;
  if (o.snapshot) {
    snapshot = resolve_snapshot(o.snapshot, now_utc(), config.snapshot_grain);
  } else {
    snapshot = warehouse->latest_snapshot(projects);
    if (!snapshot) {
      log::info("nothing to check: the warehouse holds no snapshot of these projects");
      return 0;
    }
  }
  const CheckReport report = check_snapshot(config, *warehouse, *snapshot, new_run_id());
  // One line per finding, tab-separated like `plan`: severity, check, project, env=N, window,
  // window_from, segment, metric, observed, expected, message.
  const auto number = [](const std::optional<double>& v) {
    if (!v) return std::string();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", *v);
    return std::string(buf);
  };
  for (const DataCheckFinding& f : report.findings) {
    const std::string line = f.severity + "\t" + f.check_name + "\t" + f.project + "\tenv=" +
                             std::to_string(f.environment) + "\t" + f.window_name + "\t" +
                             format_iso8601(f.window_from) + "\t" + f.segment + "\t" + f.metric + "\t" +
                             number(f.observed) + "\t" + number(f.expected) + "\t" + f.message + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  const std::string footer = std::to_string(report.findings.size()) + " finding(s) for snapshot " +
                             format_iso8601(*snapshot) + ": " + std::to_string(report.errors) + " error(s), " +
                             std::to_string(report.warnings) + " warning(s)\n";
  std::fwrite(footer.data(), 1, footer.size(), stdout);
  return static_cast<int>(report.fails ? ExitCode::data_checks_failed : ExitCode::ok);
}

int command_run(const Options& o) {
  const UnixSeconds started_at = now_utc();
  std::optional<std::string> metrics_file = o.metrics_file;  // the config's, once it is read
  try {
    return run_command_run(o, metrics_file);
  } catch (const LockedError&) {
    throw;  // another run is under way: the metrics file is that run's to write
  } catch (const EtlError& e) {
    if (metrics_file && !o.dry_run) write_failed_run_metrics(*metrics_file, started_at, e);
    throw;
  }
}

int run_command_run(const Options& o, std::optional<std::string>& metrics_file) {
  Plan p = make_plan(o);
  if (!metrics_file) metrics_file = p.config.metrics_file;
  std::vector<std::string> keys;
  for (const ProjectConfig& project : p.config.projects) keys.push_back(resolve_secret(project.api_key));

  auto warehouse = open_warehouse(p.config.warehouse.url, p.config.warehouse.schema,
                                  o.dry_run ? WarehouseAccess::inspect : WarehouseAccess::read_write);
  if (o.dry_run) {
    // Everything a run does before its first request, writing nothing: the schema version is
    // refused as `run` would refuse it, and --resume reads what is stored.
    const int current = warehouse->schema_version();
    const int latest = warehouse->latest_schema_version();
    refuse_newer_schema(current, latest);
    const std::size_t skipped = o.resume ? keep_missing_cells(*warehouse, p.snapshot, p.cells) : 0;
    print_plan(p.config, p.cells);
    log::info("dry run: nothing fetched, nothing written",
              {{"warehouse", warehouse->backend()}, {"schema_version", std::to_string(current)},
               {"pending_migrations", std::to_string(latest > current ? latest - current : 0)},
               {"cells", std::to_string(p.cells.size())},
               {"estimated_duration", human_duration(estimated_seconds(p.config, p.cells))},
               {"skipped_by_resume", std::to_string(skipped)}});
    return 0;
  }
  warehouse->migrate();
  // After migrate (PostgreSQL records lock holders in a table it creates), before anything is
  // fetched or read for --resume. Declared after `warehouse`, so it is released before it.
  const auto run_lock = lock_run(*warehouse, p.config, o);

  RunRequest request;
  request.config = &p.config;
  request.api_keys = std::move(keys);
  request.snapshot_at = p.snapshot;
  if (o.shard) {
    const Shard s = parse_shard(*o.shard);
    request.shard = std::to_string(s.index) + "/" + std::to_string(s.count);
  }
  if (o.resume) request.cells_skipped_by_resume = keep_missing_cells(*warehouse, p.snapshot, p.cells);
  request.cells = std::move(p.cells);

  // A terminal gets the progress line; journald, pipes, -q and JSON logs never do.
  std::optional<ProgressLine> progress;
  if (stderr_is_terminal() && o.log_level != log::Level::warning && o.log_format == log::Format::text) {
    progress.emplace(p.config);
    request.on_progress = [&progress](const RunProgress& now) { progress->update(now); };
  }

  install_stop_signal_handlers();
  RunSummary summary = run_job(request, *warehouse, stop_signal());
  progress.reset();
  run_data_checks(p.config, *warehouse, summary, stop_signal());
  const log::Level level = summary.exit_code == ExitCode::ok       ? log::Level::info
                           : summary.record.status == "failed" ? log::Level::error
                                                                : log::Level::warning;
  log::write(level, summary_message(summary), summary_fields(summary));
  if (metrics_file) {
    try {
      write_run_metrics(*metrics_file, summary);
    } catch (const EtlError& e) {
      log::error(e.what());  // the rows are loaded: a metrics file that cannot be written does not change the exit code
    }
  }
  notify_bi(p.config, summary, stop_signal());
  if (const int sig = stop_signal().load(); sig != 0 && summary.record.status != "interrupted") {
    // Stopped after the rows were committed (during the Metabase call): they stay as recorded,
    // and the process still ends the way a stopped service must.
    log::warning("stopped by signal " + std::to_string(sig) + " after the run's rows were committed");
    return static_cast<int>(sig == 2 ? ExitCode::interrupted_sigint : ExitCode::interrupted_sigterm);
  }
  return static_cast<int>(summary.exit_code);
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_config = std::getenv("QONVERSION_ETL_CONFIG");
  log::configure(log::Level::info, requested_log_format(args));
  try {
    const Options o = parse_options(args, env_config ? std::optional<std::string>(env_config) : std::nullopt);
    log::configure(o.log_level, o.log_format);
    switch (o.command) {
      case Command::help:
        std::cout << o.help_text;
        return 0;
      case Command::version:
        std::cout << "qonversion-etl " << kVersion << "\n";
        return 0;
      case Command::plan: return command_plan(o);
      case Command::migrate: return command_migrate(o);
      case Command::run: return command_run(o);
      case Command::check: return command_check(o);
    }
  } catch (const EtlError& e) {
    log::error(e.what(), {{"exit_code", std::to_string(static_cast<int>(e.code()))}});
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    log::error(std::string("internal error: ") + e.what(), {{"exit_code", "70"}});
    return static_cast<int>(ExitCode::internal);
  }
  return static_cast<int>(ExitCode::internal);
}

}  // namespace qetl::cli
