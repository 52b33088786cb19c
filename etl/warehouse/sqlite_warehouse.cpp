#include "warehouse/sqlite_warehouse.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <filesystem>
#include <optional>
#include <utility>

#include "util/errors.hpp"
#include "util/log.hpp"
#include "warehouse/error_text.hpp"
#include "warehouse/metrics_columns.hpp"
#include "warehouse/migrations.hpp"
#include "warehouse/run_scope.hpp"
#include "warehouse/sqlite_data_checks.hpp"
#include "warehouse/sqlite_run_lock.hpp"

namespace qetl {
namespace {

std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s;
}

void bind_optional(SQLite::Statement& s, int index, const std::optional<std::string>& value) {
  if (value) {
    s.bind(index, *value);
  } else {
    s.bind(index);
  }
}

// A statement failed because of the value it was given (a CHECK or NOT NULL, a text or blob
// over the size limit, a datatype mismatch): the row is refused, the rest of the batch is not.
// Anything else (SQLITE_BUSY, I/O, a full disk) is the warehouse failing.
bool is_data_error(const SQLite::Exception& e) {
  const int primary = e.getErrorCode() & 0xFF;
  return primary == SQLITE_CONSTRAINT || primary == SQLITE_TOOBIG || primary == SQLITE_MISMATCH;
}

class SqliteWarehouse final : public Warehouse {
 public:
  SqliteWarehouse(std::string path, WarehouseAccess access, int busy_timeout_ms)
      : path_(std::move(path)),
        db_(access == WarehouseAccess::inspect ? inspect_database(path_, busy_timeout_ms)
                                               : open_database(path_, busy_timeout_ms)) {}

  std::string backend() const override { return "sqlite"; }

  int schema_version() override {
    return guarded("reading the schema version", [&] { return version_in_database(); });
  }

  int latest_schema_version() const override { return latest_version(sqlite_migrations()); }

  int migrate() override {
    return guarded("migrating the schema", [&] {
      int applied = 0;
      for (;;) {
        // IMMEDIATE takes the write lock before reading the version, so a second process
        // migrating at the same time waits (busy timeout) and then finds nothing left to do.
        SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
        const int current = version_in_database();
        refuse_newer_schema(current, latest_schema_version());
        const Migration* next = next_migration(sqlite_migrations(), current);
        if (next == nullptr) break;  // the transaction rolls back: nothing was written
        db_.exec(next->sql);
        SQLite::Statement record(db_, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
        record.bind(1, next->version);
        record.bind(2, next->name);
        record.exec();
        tx.commit();
        ++applied;
        log::info("applied warehouse migration",
                  {{"backend", "sqlite"}, {"version", std::to_string(next->version)}, {"name", next->name}});
      }
      return applied;
    });
  }

  void start_run(const RunRecord& run) override {
    guarded("recording the start of the run", [&] {
      SQLite::Statement s(db_,
                          "INSERT INTO etl_runs (run_id, started_at, finished_at, snapshot_at, status, cells_planned, "
                          "cells_succeeded, cells_failed, rows_upserted, requests_sent, version, config_sha256, host, "
                          "message, retries, responses_429, data_check_findings, projects, shard) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      s.bind(1, run.run_id);
      bind_run_fields(s, run, 2);
      s.exec();
    });
  }

  void finish_run(const RunRecord& run) override {
    guarded("recording the end of the run", [&] {
      SQLite::Statement s(db_,
                          "UPDATE etl_runs SET started_at = ?, finished_at = ?, snapshot_at = ?, status = ?, "
                          "cells_planned = ?, cells_succeeded = ?, cells_failed = ?, rows_upserted = ?, "
                          "requests_sent = ?, version = ?, config_sha256 = ?, host = ?, message = ?, retries = ?, "
                          "responses_429 = ?, data_check_findings = ?, projects = ?, shard = ? WHERE run_id = ?");
      const int next = bind_run_fields(s, run, 1);
      s.bind(next, run.run_id);
      if (s.exec() == 0) throw WarehouseError("no etl_runs row with run_id '" + run.run_id + "' to finish");
    });
    refresh_trend_day(run.run_id, run.snapshot_at);
  }

  // One statement per row, as fast as SQLite writes (STYLE: 342k rows/s in one transaction).
  // A row the database refuses fails only its own statement (SQLite rolls back that statement,
  // not the transaction), so the others are committed with it left out.
  UpsertResult upsert_metrics(const std::vector<MetricsRow>& rows) override {
    if (rows.empty()) return {};
    return guarded("upserting customer_metrics", [&] {
      const auto unique = last_row_per_key(rows);
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement s(db_, upsert_sql());
      UpsertResult result;
      for (const MetricsRow* row : unique) {
        try {
          bind_metrics_row(s, *row);
          s.exec();
          ++result.rows_written;
        } catch (const SQLite::Exception& e) {
          if (!is_data_error(e)) throw;
          result.refused.push_back({static_cast<std::size_t>(row - rows.data()), reason(e)});
        }
        s.tryReset();  // the error, if any, was reported by exec()
        s.clearBindings();
      }
      tx.commit();
      return result;
    });
  }

  void record_failures(const std::vector<CellFailure>& failures) override {
    if (failures.empty()) return;
    guarded("recording cell failures", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement s(db_,
                          "INSERT INTO etl_cell_failures (run_id, project, environment, window_name, window_from, "
                          "segment, attempts, last_http_status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT (run_id, project, environment, window_name, window_from, segment) DO UPDATE "
                          "SET attempts = excluded.attempts, last_http_status = excluded.last_http_status, "
                          "error = excluded.error");
      for (const CellFailure& f : failures) {
        std::optional<std::string> refused = insert_failure(s, f, f.error);
        // Refused for its data: store it with the database's reason instead of its own text;
        // when even that is refused (its cell itself cannot be stored), say so in the log.
        if (refused) refused = insert_failure(s, f, *refused);
        if (refused) {
          log::warning("a cell failure could not be recorded", {{"backend", "sqlite"},
                                                                {"run_id", f.run_id},
                                                                {"window", f.window_name},
                                                                {"reason", *refused}});
        }
      }
      tx.commit();
    });
  }

  std::set<CellKey> stored_cells(UnixSeconds snapshot_at) override {
    return guarded("reading the stored cells", [&] {
      SQLite::Statement s(db_,
                          "SELECT project, environment, window_name, window_from, segment FROM customer_metrics "
                          "WHERE snapshot_at = ?");
      s.bind(1, format_sql_timestamp(snapshot_at));
      std::set<CellKey> cells;
      while (s.executeStep()) {
        CellKey key;
        key.project = s.getColumn(0).getString();
        key.environment = s.getColumn(1).getInt();
        key.window_name = s.getColumn(2).getString();
        key.window_from = parse_utc_timestamp(s.getColumn(3).getString());
        key.segment = s.getColumn(4).getString();
        cells.insert(std::move(key));
      }
      return cells;
    });
  }

  std::vector<std::string> close_stale_runs(const RunRecord& finder) override {
    std::vector<std::string> closed;
    std::vector<UnixSeconds> snapshots;  // of the closed runs, in the same order
    guarded("closing the runs whose process is gone", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement running(
          db_, "SELECT run_id, projects, shard, snapshot_at FROM etl_runs WHERE status = 'running' AND run_id <> ?");
      running.bind(1, finder.run_id);
      while (running.executeStep()) {
        if (stale_row_in_scope(running.getColumn(1).getString(), running.getColumn(2).getString(), finder.projects,
                               finder.shard)) {
          closed.push_back(running.getColumn(0).getString());
          snapshots.push_back(parse_utc_timestamp(running.getColumn(3).getString()));
        }
      }
      SQLite::Statement close(db_,
                              "UPDATE etl_runs SET status = 'interrupted', finished_at = ?, message = ? "
                              "WHERE run_id = ? AND status = 'running'");
      for (const std::string& run_id : closed) {
        close.bind(1, format_sql_timestamp(now_utc()));
        close.bind(2, stale_run_message(finder.run_id));
        close.bind(3, run_id);
        close.exec();
        close.reset();
      }
      tx.commit();
    });
    for (std::size_t i = 0; i < closed.size(); ++i) refresh_trend_day(closed[i], snapshots[i]);
    return closed;
  }

  std::optional<UnixSeconds> latest_snapshot(const std::vector<std::string>& projects) override {
    return guarded("reading the newest snapshot", [&] { return sqlite_latest_snapshot(db_, projects); });
  }

  void visit_snapshot_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                           const std::function<void(const MetricsRow&)>& visit) override {
    guarded("reading the snapshot's rows", [&] { sqlite_visit_snapshot_rows(db_, snapshot_at, projects, visit); });
  }

  void visit_previous_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                           const std::function<void(const MetricsRow&)>& visit) override {
    guarded("reading the previous snapshot of every series",
            [&] { sqlite_visit_previous_rows(db_, snapshot_at, projects, visit); });
  }

  void replace_findings(UnixSeconds snapshot_at, const std::vector<std::string>& projects, const std::string& run_id,
                        const std::vector<DataCheckFinding>& findings) override {
    guarded("recording the data checks' findings", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      sqlite_replace_findings(db_, snapshot_at, projects, run_id, findings);
      tx.commit();
    });
  }

  void rebuild_derived() override {
    guarded("rebuilding the trend views' tables", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      if (has_statements(sqlite_rebuild_sql())) db_.exec(sqlite_rebuild_sql());
      tx.commit();
    });
  }

  std::unique_ptr<RunLock> try_lock_run(const std::vector<std::string>& projects, const std::string& shard,
                                        const LockHolder& me) override {
    return take_sqlite_run_lock(path_, projects, shard, me);
  }

 private:
  // Computes the series that run `run_id` wrote in the day of `snapshot_at` again in the trend
  // tables (sql/sqlite/derived/refresh_day.sql, which reads the day and the run from a temp table
  // bound here) when the run stored rows in that snapshot. It runs after the run's own record is
  // committed, in its own transaction: the tables are derived from customer_metrics, so a failure
  // here is logged and left to `migrate --rebuild`, never allowed to cost the record.
  void refresh_trend_day(const std::string& run_id, UnixSeconds snapshot_at) {
    if (!has_statements(sqlite_refresh_day_sql())) return;
    try {
      guarded("bringing the trend views' tables up to date", [&] {
        SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
        SQLite::Statement stored(db_,
                                 "SELECT EXISTS (SELECT 1 FROM customer_metrics WHERE snapshot_at = ? AND run_id = ?)");
        stored.bind(1, format_sql_timestamp(snapshot_at));
        stored.bind(2, run_id);
        if (!stored.executeStep() || stored.getColumn(0).getInt() == 0) return;
        stored.reset();  // no statement may be pending while the script runs
        db_.exec("CREATE TEMP TABLE IF NOT EXISTS qetl_refresh_day (day TEXT NOT NULL, run_id TEXT NOT NULL)");
        db_.exec("DELETE FROM qetl_refresh_day");
        SQLite::Statement day(db_, "INSERT INTO qetl_refresh_day (day, run_id) VALUES (?, ?)");
        day.bind(1, format_sql_timestamp(snapshot_at).substr(0, 10));
        day.bind(2, run_id);
        day.exec();
        db_.exec(sqlite_refresh_day_sql());
        tx.commit();
      });
    } catch (const EtlError& e) {
      log::warning("the trend views' tables were not brought up to date: run `qonversion-etl migrate --rebuild`",
                   {{"backend", "sqlite"}, {"run_id", run_id}, {"error", e.what()}});
    }
  }

  // For --dry-run: the file as it is, or an empty in-memory database when there is none yet.
  static SQLite::Database inspect_database(const std::string& path, int busy_timeout_ms) {
    try {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) return SQLite::Database(":memory:", SQLite::OPEN_READWRITE);
      return SQLite::Database(path, SQLite::OPEN_READONLY, busy_timeout_ms);
    } catch (const std::exception& e) {
      throw WarehouseError("cannot open SQLite warehouse " + path + ": " + one_line(e.what()));
    }
  }

  static SQLite::Database open_database(const std::string& path, int busy_timeout_ms) {
    try {
      const std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout_ms);
      // WAL: readers (BI tools) do not block the nightly writer and vice versa.
      SQLite::Statement wal(db, "PRAGMA journal_mode = WAL");
      if (wal.executeStep() && wal.getColumn(0).getString() != "wal") {
        log::warning("SQLite warehouse is not in WAL mode (readers may block the writer)",
                     {{"path", path}, {"journal_mode", wal.getColumn(0).getString()}});
      }
      return db;
    } catch (const std::exception& e) {
      throw WarehouseError("cannot open SQLite warehouse " + path + ": " + one_line(e.what()));
    }
  }

  template <class F>
  auto guarded(const char* action, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const EtlError&) {
      throw;
    } catch (const std::exception& e) {
      throw WarehouseError("SQLite warehouse " + path_ + ": " + action + " failed: " + one_line(e.what()));
    }
  }

  static std::string reason(const SQLite::Exception& e) { return one_line(e.what()); }

  // Inserts `f` with `error` as its text; the database's reason when it refuses the row for its
  // data. Leaves `s` reset.
  std::optional<std::string> insert_failure(SQLite::Statement& s, const CellFailure& f, const std::string& error) {
    std::optional<std::string> refused;
    try {
      s.bind(1, f.run_id);
      s.bind(2, f.project);
      s.bind(3, f.environment);
      s.bind(4, f.window_name);
      s.bind(5, format_sql_timestamp(f.window_from));
      s.bind(6, f.segment);
      s.bind(7, f.attempts);
      if (f.last_http_status) {
        s.bind(8, *f.last_http_status);
      } else {
        s.bind(8);
      }
      s.bind(9, error);
      s.exec();
    } catch (const SQLite::Exception& e) {
      if (!is_data_error(e)) throw;
      refused = reason(e);
    }
    s.tryReset();
    s.clearBindings();
    return refused;
  }

  int version_in_database() {
    SQLite::Statement exists(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
    if (!exists.executeStep()) return 0;
    SQLite::Statement q(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    q.executeStep();
    return q.getColumn(0).getInt();
  }

  // Binds every etl_runs column but run_id, starting at parameter `first`; returns the next.
  static int bind_run_fields(SQLite::Statement& s, const RunRecord& run, int first) {
    int i = first;
    s.bind(i++, format_sql_timestamp(run.started_at));
    bind_optional(s, i++, run.finished_at ? std::optional<std::string>(format_sql_timestamp(*run.finished_at))
                                          : std::nullopt);
    s.bind(i++, format_sql_timestamp(run.snapshot_at));
    s.bind(i++, run.status);
    s.bind(i++, run.cells_planned);
    s.bind(i++, run.cells_succeeded);
    s.bind(i++, run.cells_failed);
    s.bind(i++, run.rows_upserted);
    s.bind(i++, run.requests_sent);
    s.bind(i++, run.version);
    s.bind(i++, run.config_sha256);
    s.bind(i++, run.host);
    s.bind(i++, run.message);
    s.bind(i++, run.retries);
    s.bind(i++, run.responses_429);
    s.bind(i++, run.data_check_findings);
    s.bind(i++, projects_json(run.projects));
    s.bind(i++, run.shard);
    return i;
  }

  static const std::string& upsert_sql() {
    static const std::string sql = "INSERT INTO customer_metrics (" + join_columns(metrics_columns()) + ") VALUES (" +
                                   placeholders(metrics_columns().size()) + ") ON CONFLICT (" +
                                   join_columns(metrics_key_columns()) + ") DO UPDATE SET " +
                                   [] {
                                     std::string set;
                                     for (const auto& c : metrics_update_columns()) {
                                       if (!set.empty()) set += ", ";
                                       set += c + " = excluded." + c;
                                     }
                                     return set;
                                   }();
    return sql;
  }

  // Binds in metrics_columns() order. The decimals go in as text: NUMERIC affinity stores them
  // as INTEGER or REAL (SQLite has no exact decimal type; PostgreSQL keeps them exactly).
  static void bind_metrics_row(SQLite::Statement& s, const MetricsRow& r) {
    int i = 1;
    s.bind(i++, format_sql_timestamp(r.snapshot_at));
    s.bind(i++, r.project);
    s.bind(i++, r.environment);
    s.bind(i++, r.window_name);
    s.bind(i++, r.window_kind);
    s.bind(i++, format_sql_timestamp(r.window_from));
    s.bind(i++, format_sql_timestamp(r.window_to));
    s.bind(i++, r.segment);
    for (const auto& d : r.dimensions) bind_optional(s, i++, d);
    const Metrics& m = r.metrics;
    s.bind(i++, m.clients_with_event);
    s.bind(i++, m.active_subscribers);
    s.bind(i++, m.active_trials);
    s.bind(i++, m.billing_retry);
    s.bind(i++, m.churned_subscribers);
    s.bind(i++, m.canceled_trials);
    s.bind(i++, m.avg_payment_count);
    s.bind(i++, m.avg_price);
    s.bind(i++, m.sales);
    s.bind(i++, format_sql_timestamp(r.fetched_at));
    s.bind(i++, r.run_id);
  }

  std::string path_;
  SQLite::Database db_;
};

}  // namespace

std::unique_ptr<Warehouse> open_sqlite_warehouse(const std::string& url, WarehouseAccess access,
                                                 std::chrono::milliseconds busy_timeout) {
  return std::make_unique<SqliteWarehouse>(sqlite_path_from_url(url), access, static_cast<int>(busy_timeout.count()));
}

}  // namespace qetl
