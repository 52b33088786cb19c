#include "warehouse/postgres_warehouse.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <tuple>
#include <utility>

#include "util/errors.hpp"
#include "util/log.hpp"
#include "util/mask.hpp"
#include "warehouse/error_text.hpp"
#include "warehouse/metrics_columns.hpp"
#include "warehouse/migrations.hpp"
#include "warehouse/postgres_data_checks.hpp"
#include "warehouse/postgres_rows.hpp"
#include "warehouse/postgres_run_lock.hpp"
#include "warehouse/run_lock_text.hpp"
#include "warehouse/run_scope.hpp"

namespace qetl {
namespace {

constexpr const char* kApplicationName = "qonversion-etl";
// Rows of one upsert batch are COPYed here; ON COMMIT DROP keeps it to one transaction.
constexpr const char* kBatchTable = "qetl_metrics_batch";
// When a batch is refused, its parts are COPYed here one at a time, each under a savepoint.
constexpr const char* kPartTable = "qetl_metrics_part";
constexpr const char* kFailuresTable = "qetl_failures_part";
// An index into the rows written and the database's reason for refusing it.
using Refusal = std::pair<std::size_t, std::string>;

class PostgresWarehouse final : public Warehouse {
 public:
  PostgresWarehouse(const std::string& target, const std::string& schema)
      : target_(target), where_(mask_warehouse_url(target)), schema_(schema) {
    try {
      connect();
    } catch (const std::exception& e) {
      throw WarehouseError("cannot connect to PostgreSQL warehouse " + where_ + ": " + clean(e.what()));
    }
  }

  std::string backend() const override { return "postgresql"; }

  int schema_version() override {
    return guarded("reading the schema version", [&] {
      pqxx::read_transaction tx(*conn_);
      return version_in(tx);
    });
  }

  int latest_schema_version() const override { return latest_version(postgres_migrations()); }

  int migrate() override {
    return guarded("migrating the schema", [&] {
      int applied = 0;
      for (;;) {
        pqxx::work tx(*conn_, "migrate");
        // Serialises concurrent migrators (several shards starting at once); released at commit.
        // Read committed: after the wait, the version query sees what the other one applied.
        tx.exec_params("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1))",
                       "qonversion-etl migrate " + schema_);
        const int current = version_in(tx);
        refuse_newer_schema(current, latest_schema_version());
        const Migration* next = next_migration(postgres_migrations(), current);
        if (next == nullptr) break;  // aborted on scope exit: nothing was written
        // Only when missing: a DBA may create the schema beforehand for a role that lacks
        // CREATE on the database (CREATE SCHEMA IF NOT EXISTS checks that privilege first).
        if (!schema_exists(tx)) tx.exec0("CREATE SCHEMA " + tx.quote_name(schema_));
        tx.exec(next->sql);
        tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", next->version,
                        std::string(next->name));
        tx.commit();
        ++applied;
        log::info("applied warehouse migration", {{"backend", "postgresql"},
                                                  {"schema", schema_},
                                                  {"version", std::to_string(next->version)},
                                                  {"name", next->name}});
      }
      return applied;
    });
  }

  void start_run(const RunRecord& run) override {
    writing("recording the start of the run", [&] {
      pqxx::work tx(*conn_, "start_run");
      keep_run_locks(tx);
      tx.exec_params0(
          "INSERT INTO etl_runs (run_id, started_at, finished_at, snapshot_at, status, cells_planned, "
          "cells_succeeded, cells_failed, rows_upserted, requests_sent, version, config_sha256, host, message, "
          "retries, responses_429, data_check_findings, projects, shard) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
          run.run_id, pg_timestamp(run.started_at), pg_timestamp(run.finished_at), pg_timestamp(run.snapshot_at),
          run.status, run.cells_planned, run.cells_succeeded, run.cells_failed, run.rows_upserted, run.requests_sent,
          run.version, run.config_sha256, run.host, run.message, run.retries, run.responses_429,
          run.data_check_findings, projects_json(run.projects), run.shard);
      tx.commit();
    });
  }

  void finish_run(const RunRecord& run) override {
    writing("recording the end of the run", [&] {
      pqxx::work tx(*conn_, "finish_run");
      keep_run_locks(tx);
      const pqxx::result r = tx.exec_params(
          "UPDATE etl_runs SET started_at = $2, finished_at = $3, snapshot_at = $4, status = $5, "
          "cells_planned = $6, cells_succeeded = $7, cells_failed = $8, rows_upserted = $9, requests_sent = $10, "
          "version = $11, config_sha256 = $12, host = $13, message = $14, retries = $15, responses_429 = $16, "
          "data_check_findings = $17, projects = $18, shard = $19 WHERE run_id = $1",
          run.run_id, pg_timestamp(run.started_at), pg_timestamp(run.finished_at), pg_timestamp(run.snapshot_at),
          run.status, run.cells_planned, run.cells_succeeded, run.cells_failed, run.rows_upserted, run.requests_sent,
          run.version, run.config_sha256, run.host, run.message, run.retries, run.responses_429,
          run.data_check_findings, projects_json(run.projects), run.shard);
      if (r.affected_rows() == 0) throw WarehouseError("no etl_runs row with run_id '" + run.run_id + "' to finish");
      tx.commit();
    });
    refresh_trend_day(run.run_id, run.snapshot_at);
  }

  // COPY into a temp table, then one INSERT ... ON CONFLICT: COPY is the fast path into
  // PostgreSQL. When the database refuses the batch for its data, the batch is written again
  // in parts under savepoints, halving a refused part until the refused rows stand alone: the
  // others are committed, each refused one reported with the database's reason.
  UpsertResult upsert_metrics(const std::vector<MetricsRow>& rows) override {
    if (rows.empty()) return {};
    return writing("upserting customer_metrics", [&] {
      const std::vector<const MetricsRow*> unique = last_row_per_key(rows);
      try {
        pqxx::work tx(*conn_, "upsert_metrics");
        keep_run_locks(tx);
        create_temp_like(tx, kBatchTable, "customer_metrics");
        copy_metrics(tx, kBatchTable, unique, 0, unique.size());
        const pqxx::result r = tx.exec0(upsert_metrics_from(kBatchTable));
        tx.commit();
        return UpsertResult{static_cast<std::size_t>(r.affected_rows()), {}};
      } catch (const pqxx::sql_error& e) {
        if (!is_data_error(e)) throw;
      }
      pqxx::work tx(*conn_, "upsert_metrics_isolating");
      keep_run_locks(tx);
      create_temp_like(tx, kPartTable, "customer_metrics");
      std::vector<Refusal> refused;
      const std::size_t written = write_isolating(
          tx, 0, unique.size(),
          [&](pqxx::transaction_base& part, std::size_t begin, std::size_t end) {
            copy_metrics(part, kPartTable, unique, begin, end);
            const pqxx::result r = part.exec0(upsert_metrics_from(kPartTable));
            part.exec0(std::string("DELETE FROM ") + kPartTable);
            return static_cast<std::size_t>(r.affected_rows());
          },
          refused);
      tx.commit();
      UpsertResult result{written, {}};
      for (const auto& [index, reason] : refused) {
        result.refused.push_back({static_cast<std::size_t>(unique[index] - rows.data()), reason});
      }
      return result;
    });
  }

  // The same isolation as upsert_metrics; a refused failure is written once more with the
  // database's reason as its error text, so the cell is recorded all the same.
  void record_failures(const std::vector<CellFailure>& failures) override {
    if (failures.empty()) return;
    writing("recording cell failures", [&] {
      std::vector<CellFailure> rows = last_failure_per_cell(failures);
      pqxx::work tx(*conn_, "record_failures");
      keep_run_locks(tx);
      create_temp_like(tx, kFailuresTable, "etl_cell_failures");
      const auto write = [&](pqxx::transaction_base& part, std::size_t begin, std::size_t end) {
        copy_failures(part, kFailuresTable, rows, begin, end);
        const pqxx::result r = part.exec0(upsert_failures_from(kFailuresTable));
        part.exec0(std::string("DELETE FROM ") + kFailuresTable);
        return static_cast<std::size_t>(r.affected_rows());
      };
      std::vector<Refusal> refused;
      write_isolating(tx, 0, rows.size(), write, refused);
      for (const auto& [index, reason] : refused) {
        rows[index].error = reason;
        std::vector<Refusal> again;
        write_isolating(tx, index, index + 1, write, again);
        if (!again.empty()) {
          log::warning("a cell failure could not be recorded", {{"backend", "postgresql"},
                                                                {"run_id", rows[index].run_id},
                                                                {"window", rows[index].window_name},
                                                                {"reason", again.front().second}});
        }
      }
      tx.commit();
    });
  }

  std::set<CellKey> stored_cells(UnixSeconds snapshot_at) override {
    return guarded("reading the stored cells", [&] {
      pqxx::read_transaction tx(*conn_);
      const pqxx::result r = tx.exec_params(
          "SELECT project, environment, window_name, EXTRACT(EPOCH FROM window_from)::bigint, segment "
          "FROM customer_metrics WHERE snapshot_at = $1",
          pg_timestamp(snapshot_at));
      std::set<CellKey> cells;
      for (const auto& row : r) {
        CellKey key;
        key.project = row[0].as<std::string>();
        key.environment = row[1].as<int>();
        key.window_name = row[2].as<std::string>();
        key.window_from = row[3].as<UnixSeconds>();
        key.segment = row[4].as<std::string>();
        cells.insert(std::move(key));
      }
      return cells;
    });
  }

  std::vector<std::string> close_stale_runs(const RunRecord& finder) override {
    std::vector<std::string> closed;
    std::vector<UnixSeconds> snapshots;  // of the closed runs, in the same order
    writing("closing the runs whose process is gone", [&] {
      pqxx::work tx(*conn_, "close_stale_runs");
      keep_run_locks(tx);
      const pqxx::result running = tx.exec_params(
          "SELECT run_id, projects, shard, EXTRACT(EPOCH FROM snapshot_at)::bigint FROM etl_runs "
          "WHERE status = 'running' AND run_id <> $1",
          finder.run_id);
      closed.clear();  // a retry after a reconnection starts over
      snapshots.clear();
      for (const auto& row : running) {
        if (!stale_row_in_scope(row[1].as<std::string>(), row[2].as<std::string>(), finder.projects, finder.shard)) {
          continue;
        }
        const std::string run_id = row[0].as<std::string>();
        tx.exec_params0(
            "UPDATE etl_runs SET status = 'interrupted', finished_at = $2, message = $3 "
            "WHERE run_id = $1 AND status = 'running'",
            run_id, pg_timestamp(now_utc()), stale_run_message(finder.run_id));
        closed.push_back(run_id);
        snapshots.push_back(row[3].as<UnixSeconds>());
      }
      tx.commit();
    });
    for (std::size_t i = 0; i < closed.size(); ++i) refresh_trend_day(closed[i], snapshots[i]);
    return closed;
  }

  std::optional<UnixSeconds> latest_snapshot(const std::vector<std::string>& projects) override {
    return guarded("reading the newest snapshot", [&] {
      pqxx::read_transaction tx(*conn_);
      return pg_latest_snapshot(tx, projects);
    });
  }

  void visit_snapshot_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                           const std::function<void(const MetricsRow&)>& visit) override {
    guarded("reading the snapshot's rows", [&] {
      pqxx::read_transaction tx(*conn_);
      pg_visit_snapshot_rows(tx, snapshot_at, projects, visit);
    });
  }

  void visit_previous_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                           const std::function<void(const MetricsRow&)>& visit) override {
    guarded("reading the previous snapshot of every series", [&] {
      pqxx::read_transaction tx(*conn_);
      pg_visit_previous_rows(tx, snapshot_at, projects, visit);
    });
  }

  void replace_findings(UnixSeconds snapshot_at, const std::vector<std::string>& projects, const std::string& run_id,
                        const std::vector<DataCheckFinding>& findings) override {
    writing("recording the data checks' findings", [&] {
      pqxx::work tx(*conn_, "replace_findings");
      keep_run_locks(tx);
      pg_replace_findings(tx, snapshot_at, projects, run_id, findings);
      tx.commit();
    });
  }

  void rebuild_derived() override {
    writing("rebuilding the trend views' tables", [&] {
      pqxx::work tx(*conn_, "rebuild_derived");
      keep_run_locks(tx);
      if (has_statements(postgres_rebuild_sql())) tx.exec(postgres_rebuild_sql());
      tx.commit();
    });
  }

  std::unique_ptr<RunLock> try_lock_run(const std::vector<std::string>& projects, const std::string& shard,
                                        const LockHolder& me) override {
    std::vector<std::string> taken;  // lock names, for the cleanup below
    std::map<std::string, HeldLock> mine;
    try {
      return guarded("taking the run lock", [&]() -> std::unique_ptr<RunLock> {
        pqxx::work tx(*conn_, "try_lock_run");
        keep_run_locks(tx);
        pg_limit_lock_wait(tx);
        for (const std::string& project : lock_order(projects)) {
          pg_take_run_lock(tx, schema_, project, shard, me, "");
          const std::string name = run_lock_name(shard, project);
          taken.push_back(name);
          mine[name] = HeldLock{project, shard, me};
        }
        tx.commit();
        return std::make_unique<PgRunLock>(*this, std::move(mine));
      });
    } catch (...) {
      unlock(taken);  // all or nothing
      throw;
    }
  }

 private:
  // One lock as this session holds it: enough to take it again after a reconnection.
  struct HeldLock {
    std::string project;
    std::string shard;
    LockHolder holder;
  };

  // The advisory locks of one run, on this warehouse's connection.
  class PgRunLock final : public RunLock {
   public:
    PgRunLock(PostgresWarehouse& w, std::map<std::string, HeldLock> locks) : w_(w) {
      if (w_.held_.empty()) w_.locked_backend_pid_ = w_.conn_->backendpid();
      for (auto& [name, lock] : locks) {
        names_.push_back(name);
        w_.held_[name] = std::move(lock);
      }
    }
    ~PgRunLock() override {
      w_.unlock(names_);
      for (const std::string& name : names_) w_.held_.erase(name);
    }
    PgRunLock(const PgRunLock&) = delete;
    PgRunLock& operator=(const PgRunLock&) = delete;

   private:
    PostgresWarehouse& w_;
    std::vector<std::string> names_;
  };

  // Writes items [begin, end) through `write(part, begin, end)` (returning the rows it wrote)
  // inside a savepoint; a part the database refuses for its data is rolled back and halved,
  // until a refused item stands alone and goes to `refused` with the database's reason. Any
  // other error propagates (the caller's transaction then commits nothing).
  template <class Write>
  std::size_t write_isolating(pqxx::dbtransaction& tx, std::size_t begin, std::size_t end, const Write& write,
                              std::vector<Refusal>& refused) {
    if (begin >= end) return 0;
    try {
      pqxx::subtransaction part(tx, "isolate");
      const std::size_t written = write(part, begin, end);
      part.commit();
      return written;
    } catch (const pqxx::sql_error& e) {
      if (!is_data_error(e)) throw;
      if (end - begin == 1) {
        refused.emplace_back(begin, clean(e.what()));
        return 0;
      }
    }
    const std::size_t middle = begin + (end - begin) / 2;
    const std::size_t first = write_isolating(tx, begin, middle, write, refused);
    return first + write_isolating(tx, middle, end, write, refused);
  }

  static void create_temp_like(pqxx::transaction_base& tx, const char* table, const char* like) {
    tx.exec0(std::string("CREATE TEMP TABLE ") + table + " (LIKE " + like + " INCLUDING DEFAULTS) ON COMMIT DROP");
  }

  // libpqxx reconnects by itself when the server dropped the session between transactions (the
  // job survives a restarted server or a terminated backend), but the new session does not hold
  // the old one's advisory locks. Every writing transaction calls this first: after a
  // reconnection it takes the locks again, in the same transaction, so nothing is committed
  // unguarded; if another run took an overlapping one meanwhile, this run stops with LockedError.
  void keep_run_locks(pqxx::transaction_base& tx) {
    if (held_.empty() || conn_->backendpid() == locked_backend_pid_) return;
    log::warning("the warehouse session was replaced: taking the run lock again",
                 {{"backend", "postgresql"}, {"locks", std::to_string(held_.size())}});
    std::vector<const HeldLock*> order;  // by project, as try_lock_run takes them
    for (const auto& [name, lock] : held_) order.push_back(&lock);
    std::sort(order.begin(), order.end(), [](const HeldLock* a, const HeldLock* b) {
      return std::tie(a->project, a->shard) < std::tie(b->project, b->shard);
    });
    pg_limit_lock_wait(tx);
    for (const HeldLock* lock : order) {
      pg_take_run_lock(tx, schema_, lock->project, lock->shard, lock->holder,
                       "lost the warehouse session mid-run, and meanwhile ");
    }
    pg_unlimit_lock_wait(tx);  // the rest of the transaction waits as usual
    locked_backend_pid_ = conn_->backendpid();
  }

  // Computes the series that run `run_id` wrote in the day of `snapshot_at` again in the trend
  // tables (sql/postgres/derived/refresh_day.sql) when the run stored rows in that snapshot. It
  // runs after the run's own record is committed, in its own transaction: the tables are derived
  // from customer_metrics, so a failure here is logged and left to `migrate --rebuild`, never
  // allowed to cost the record.
  void refresh_trend_day(const std::string& run_id, UnixSeconds snapshot_at) {
    if (!has_statements(postgres_refresh_day_sql())) return;
    try {
      writing("bringing the trend views' tables up to date", [&] {
        pqxx::work tx(*conn_, "refresh_trend_day");
        keep_run_locks(tx);
        const bool stored = tx.exec_params1("SELECT EXISTS (SELECT 1 FROM customer_metrics "
                                            "WHERE snapshot_at = $1 AND run_id = $2)",
                                            pg_timestamp(snapshot_at), run_id)[0]
                                .as<bool>();
        if (stored) tx.exec_params(postgres_refresh_day_sql(), format_sql_timestamp(snapshot_at).substr(0, 10), run_id);
        tx.commit();
      });
    } catch (const EtlError& e) {
      log::warning("the trend views' tables were not brought up to date: run `qonversion-etl migrate --rebuild`",
                   {{"backend", "postgresql"}, {"run_id", run_id}, {"error", e.what()}});
    }
  }

  // Releases the advisory locks `names` and forgets their holder rows. Never throws: it runs
  // from destructors and error paths, and a broken connection has released them already.
  void unlock(const std::vector<std::string>& names) noexcept {
    if (names.empty()) return;
    try {
      pqxx::work tx(*conn_, "unlock_run");
      // A lock this session no longer holds (it was replaced) only earns a WARNING, which
      // libpqxx would print outside our log format.
      tx.exec0("SET LOCAL client_min_messages = error");
      for (const std::string& name : names) pg_release_run_lock(tx, schema_, name);
      tx.commit();
    } catch (const std::exception& e) {
      log::warning("could not release the run lock (it goes with the connection)",
                   {{"backend", "postgresql"}, {"error", clean(e.what())}});
    }
  }

  // The server's warnings on this session go to our log, masked, instead of libpqxx's stderr.
  class NoticeLog final : public pqxx::errorhandler {
   public:
    NoticeLog(pqxx::connection_base& conn, const PostgresWarehouse& w) : pqxx::errorhandler(conn), w_(w) {}
    bool operator()(const char msg[]) noexcept override {
      try {
        log::warning("PostgreSQL: " + w_.clean(msg), {{"backend", "postgresql"}});
      } catch (...) {
      }
      return false;  // handled: no other handler prints it
    }

   private:
    const PostgresWarehouse& w_;
  };

  // A new session: search_path and messages as every session needs them. Throws
  // pqxx::broken_connection when the server cannot be reached.
  void connect() {
    notices_.reset();  // registered on the session it is replacing
    auto conn = std::make_unique<pqxx::connection>(with_application_name(target_));
    conn->set_variable("search_path", conn->quote_name(schema_));
    conn->set_variable("client_min_messages", "warning");  // NOTICEs are chatter; warnings are logged
    notices_ = std::make_unique<NoticeLog>(*conn, *this);
    conn_ = std::move(conn);
  }

  // guarded() for a transaction that writes: when the server has dropped the session (a restart,
  // pg_terminate_backend) the transaction fails before anything is committed, so it runs once
  // more on a new session; keep_run_locks() in it takes the run lock again first. A failure
  // during COMMIT (pqxx::in_doubt_error) is not retried: it may have been committed.
  template <class F>
  auto writing(const char* action, F&& f) -> decltype(f()) {
    return guarded(action, [&] {
      try {
        return f();
      } catch (const pqxx::broken_connection& e) {
        log::warning("lost the warehouse session: reconnecting",
                     {{"backend", "postgresql"}, {"while", action}, {"error", clean(e.what())}});
        connect();
        return f();
      }
    });
  }

  // Text from libpq/libpqxx on one line, with every form of the password and the target itself
  // blanked: libpq's messages are not written with secrets in mind.
  std::string clean(const char* what) const { return one_line(mask_warehouse_text(what, target_)); }

  template <class F>
  auto guarded(const char* action, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const EtlError&) {
      throw;
    } catch (const pqxx::broken_connection& e) {
      throw WarehouseError("lost the connection to PostgreSQL warehouse " + where_ + " while " + action + ": " +
                           clean(e.what()));
    } catch (const std::exception& e) {
      throw WarehouseError("PostgreSQL warehouse " + where_ + ": " + action + " failed: " + clean(e.what()));
    }
  }

  bool schema_exists(pqxx::transaction_base& tx) {
    return tx.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", schema_)[0]
        .as<bool>();
  }

  int version_in(pqxx::transaction_base& tx) {
    const bool has_table = tx.exec_params1(
                               "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
                               "WHERE schemaname = $1 AND tablename = 'schema_migrations')",
                               schema_)[0]
                               .as<bool>();
    if (!has_table) return 0;
    return tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0].as<int>();
  }

  std::string target_;  // as configured, password included: only for connecting and masking
  std::string where_;   // the target as it may be shown: password masked
  std::string schema_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<NoticeLog> notices_;  // declared after conn_: goes first
  std::map<std::string, HeldLock> held_;  // lock name -> the run lock live PgRunLocks hold
  int locked_backend_pid_ = 0;             // the session they were taken in
};

}  // namespace

std::string with_application_name(const std::string& target) {
  std::optional<PgTarget> parsed = parse_pg_target(target);
  if (!parsed) throw ConfigError(warehouse_url_problem(target).value_or("libpq cannot parse the warehouse URL"));
  if (!parsed->option("fallback_application_name")) {
    parsed->options.emplace_back("fallback_application_name", kApplicationName);
  }
  return pg_conninfo(*parsed);
}

std::unique_ptr<Warehouse> open_postgres_warehouse(const std::string& target, const std::string& schema) {
  if (schema.empty()) throw ConfigError("warehouse.schema must not be empty for a PostgreSQL warehouse");
  if (auto problem = warehouse_url_problem(target)) throw ConfigError(*problem);
  return std::make_unique<PostgresWarehouse>(target, schema);
}

}  // namespace qetl
