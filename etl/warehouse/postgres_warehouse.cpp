#include "warehouse/postgres_warehouse.hpp"

#include <cctype>
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
#include "warehouse/run_lock_text.hpp"

namespace qetl {
namespace {

constexpr const char* kApplicationName = "qonversion-etl";
// Rows of one upsert batch are COPYed here; ON COMMIT DROP keeps it to one transaction.
constexpr const char* kBatchTable = "qetl_metrics_batch";
constexpr const char* kRecordFailure = "qetl_record_failure";
// The first key of every run lock's advisory lock pair is hashtext() of this + the schema, so
// locks of different schemas (or other applications' one-key locks) never meet.
constexpr const char* kRunLockSpace = "qonversion-etl run ";

bool is_pg_uri(std::string_view target) {
  return target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0;
}

// timestamptz input that does not depend on the session's TimeZone.
std::string pg_timestamp(UnixSeconds t) { return format_sql_timestamp(t) + "+00"; }

std::optional<std::string> pg_timestamp(const std::optional<UnixSeconds>& t) {
  if (!t) return std::nullopt;
  return pg_timestamp(*t);
}

// One customer_metrics row as the COPY tuple, in metrics_columns() order. Everything is text
// (NULL for an unfiltered dimension): the decimals must reach numeric as the exact text the API
// sent, and the doubles as text that reads back to the same value.
template <std::size_t... I>
auto dimensions_tuple(const MetricsRow& r, std::index_sequence<I...>) {
  return std::forward_as_tuple(r.dimensions[I]...);
}

auto copy_tuple(const MetricsRow& r) {
  const Metrics& m = r.metrics;
  return std::tuple_cat(
      std::make_tuple(pg_timestamp(r.snapshot_at), r.project, std::to_string(r.environment),
                      r.window_name, r.window_kind, pg_timestamp(r.window_from),
                      pg_timestamp(r.window_to), r.segment),
      dimensions_tuple(r, std::make_index_sequence<kDimensionCount>{}),
      std::make_tuple(std::to_string(m.clients_with_event), std::to_string(m.active_subscribers),
                      std::to_string(m.active_trials), std::to_string(m.billing_retry),
                      exact_double_text(m.churned_subscribers), exact_double_text(m.canceled_trials),
                      m.avg_payment_count, m.avg_price, m.sales,
                      pg_timestamp(r.fetched_at), r.run_id));
}

const std::string& upsert_from_batch_sql() {
  static const std::string sql = [] {
    std::string set;
    for (const auto& c : metrics_update_columns()) {
      if (!set.empty()) set += ", ";
      set += c + " = EXCLUDED." + c;
    }
    const std::string columns = join_columns(metrics_columns());
    return "INSERT INTO customer_metrics (" + columns + ") SELECT " + columns + " FROM " + kBatchTable +
           " ON CONFLICT (" + join_columns(metrics_key_columns()) + ") DO UPDATE SET " + set;
  }();
  return sql;
}

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
          "cells_succeeded, cells_failed, rows_upserted, requests_sent, version, config_sha256, host, message) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
          run.run_id, pg_timestamp(run.started_at), pg_timestamp(run.finished_at), pg_timestamp(run.snapshot_at),
          run.status, run.cells_planned, run.cells_succeeded, run.cells_failed, run.rows_upserted, run.requests_sent,
          run.version, run.config_sha256, run.host, run.message);
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
          "version = $11, config_sha256 = $12, host = $13, message = $14, retries = $15, responses_429 = $16 "
          "WHERE run_id = $1",
          run.run_id, pg_timestamp(run.started_at), pg_timestamp(run.finished_at), pg_timestamp(run.snapshot_at),
          run.status, run.cells_planned, run.cells_succeeded, run.cells_failed, run.rows_upserted, run.requests_sent,
          run.version, run.config_sha256, run.host, run.message, run.retries, run.responses_429);
      if (r.affected_rows() == 0) throw WarehouseError("no etl_runs row with run_id '" + run.run_id + "' to finish");
      tx.commit();
    });
  }

  // COPY into a temp table, then one INSERT ... ON CONFLICT: COPY is the fast path into
  // PostgreSQL, and the single upsert statement keeps the whole batch atomic.
  UpsertResult upsert_metrics(const std::vector<MetricsRow>& rows) override {
    if (rows.empty()) return {};
    return writing("upserting customer_metrics", [&] {
      const auto unique = last_row_per_key(rows);
      pqxx::work tx(*conn_, "upsert_metrics");
      keep_run_locks(tx);
      tx.exec0(std::string("CREATE TEMP TABLE ") + kBatchTable +
               " (LIKE customer_metrics INCLUDING DEFAULTS) ON COMMIT DROP");
      {
        pqxx::stream_to copy(tx, kBatchTable, metrics_columns());
        for (const MetricsRow* row : unique) copy << copy_tuple(*row);
        copy.complete();
      }
      const pqxx::result r = tx.exec0(upsert_from_batch_sql());
      if (has_statements(postgres_after_upsert_sql())) tx.exec(postgres_after_upsert_sql());
      tx.commit();
      return UpsertResult{static_cast<std::size_t>(r.affected_rows()), {}};
    });
  }

  void record_failures(const std::vector<CellFailure>& failures) override {
    if (failures.empty()) return;
    writing("recording cell failures", [&] {
      pqxx::work tx(*conn_, "record_failures");
      keep_run_locks(tx);
      for (const auto& f : failures) {
        tx.exec_prepared0(kRecordFailure, f.run_id, f.project, f.environment, f.window_name,
                          pg_timestamp(f.window_from), f.segment, f.attempts, f.last_http_status, f.error);
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

  std::vector<std::string> close_stale_runs(const RunRecord&) override { return {}; }

  void visit_snapshot_rows(UnixSeconds, const std::vector<std::string>&,
                           const std::function<void(const MetricsRow&)>&) override {
    throw WarehouseError("visit_snapshot_rows: not implemented yet");
  }
  void visit_previous_rows(UnixSeconds, const std::vector<std::string>&,
                           const std::function<void(const MetricsRow&)>&) override {
    throw WarehouseError("visit_previous_rows: not implemented yet");
  }
  void replace_findings(UnixSeconds, const std::vector<std::string>&, const std::string&,
                        const std::vector<DataCheckFinding>&) override {
    throw WarehouseError("replace_findings: not implemented yet");
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
    const std::vector<std::string> order = lock_order(projects);
    std::vector<std::string> taken;  // lock names, for the cleanup below
    std::map<std::string, HeldLock> mine;
    try {
      return guarded("taking the run lock", [&]() -> std::unique_ptr<RunLock> {
        pqxx::work tx(*conn_, "try_lock_run");
        keep_run_locks(tx);
        for (const std::string& project : order) {
          const std::string name = shard + ":" + project;
          // PostgreSQL lets a session take an advisory lock it already holds; a second lock from
          // this same warehouse must be refused like one from another process (as on SQLite).
          if (held_.count(name) != 0 || !take_lock(tx, name, me)) {
            throw LockedError(locked_message(project, shard, recorded_holder(tx, name)));
          }
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

  // Session-level: the lock stays when the transaction commits (or aborts) and goes when the
  // session ends, however the job ends. Records `me` as the holder when it got the lock.
  bool take_lock(pqxx::transaction_base& tx, const std::string& name, const LockHolder& me) {
    const bool got = tx.exec_params1("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext($1), "
                                     "pg_catalog.hashtext($2))",
                                     kRunLockSpace + schema_, name)[0]
                         .as<bool>();
    if (got) {
      tx.exec_params0(
          "INSERT INTO etl_run_locks (lock_name, host, pid, started_at, backend_pid, locked_at) "
          "VALUES ($1, $2, $3, $4, pg_catalog.pg_backend_pid(), now()) ON CONFLICT (lock_name) DO UPDATE SET "
          "host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, "
          "backend_pid = EXCLUDED.backend_pid, locked_at = EXCLUDED.locked_at",
          name, me.host, me.pid, pg_timestamp(me.started_at));
    }
    return got;
  }

  // libpqxx reconnects by itself when the server dropped the session between transactions (the
  // job survives a restarted server or a terminated backend), but the new session does not hold
  // the old one's advisory locks. Every writing transaction calls this first: after a
  // reconnection it takes the locks again, in the same transaction, so nothing is committed
  // unguarded; if another run took one meanwhile, this run stops with LockedError.
  void keep_run_locks(pqxx::transaction_base& tx) {
    if (held_.empty() || conn_->backendpid() == locked_backend_pid_) return;
    log::warning("the warehouse session was replaced: taking the run lock again",
                 {{"backend", "postgresql"}, {"locks", std::to_string(held_.size())}});
    for (const auto& [name, lock] : held_) {
      if (!take_lock(tx, name, lock.holder)) {
        throw LockedError("lost the warehouse session mid-run, and meanwhile " +
                          locked_message(lock.project, lock.shard, recorded_holder(tx, name)));
      }
    }
    locked_backend_pid_ = conn_->backendpid();
  }

  // The holder recorded for `name`, trusted only while the session that recorded it still
  // holds the advisory lock: a killed run's row stays behind, and the current holder may not
  // have committed its row yet.
  std::optional<LockHolder> recorded_holder(pqxx::transaction_base& tx, const std::string& name) {
    const pqxx::result r = tx.exec_params(
        "SELECT l.host, l.pid, EXTRACT(EPOCH FROM l.started_at)::bigint FROM etl_run_locks l "
        "WHERE l.lock_name = $2 AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks k "
        "WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid AND k.objsubid = 2 "
        "AND k.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
        "AND k.classid = (pg_catalog.hashtext($1)::bigint & 4294967295)::oid "
        "AND k.objid = (pg_catalog.hashtext($2)::bigint & 4294967295)::oid)",
        kRunLockSpace + schema_, name);
    if (r.empty()) return std::nullopt;
    LockHolder h;
    h.host = r[0][0].as<std::string>();
    h.pid = r[0][1].as<std::int64_t>();
    h.started_at = r[0][2].as<UnixSeconds>();
    return h;
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
      for (const std::string& name : names) {
        tx.exec_params("SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext($1), pg_catalog.hashtext($2))",
                       kRunLockSpace + schema_, name);
        tx.exec_params0("DELETE FROM etl_run_locks WHERE lock_name = $1 AND backend_pid = pg_catalog.pg_backend_pid()",
                        name);
      }
      tx.commit();
    } catch (const std::exception& e) {
      log::warning("could not release the run lock (it goes with the connection)",
                   {{"backend", "postgresql"}, {"error", clean(e.what())}});
    }
  }

  // A new session: search_path, messages and prepared statements as every session needs them.
  // Throws pqxx::broken_connection when the server cannot be reached.
  void connect() {
    auto conn = std::make_unique<pqxx::connection>(with_application_name(target_));
    conn->set_variable("search_path", conn->quote_name(schema_));
    conn->set_variable("client_min_messages", "warning");  // NOTICEs would bypass our log format
    conn->prepare(kRecordFailure,
                  "INSERT INTO etl_cell_failures (run_id, project, environment, window_name, window_from, "
                  "segment, attempts, last_http_status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                  "ON CONFLICT (run_id, project, environment, window_name, window_from, segment) DO UPDATE "
                  "SET attempts = EXCLUDED.attempts, last_http_status = EXCLUDED.last_http_status, "
                  "error = EXCLUDED.error");
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

  // Error text from libpq/libpqxx on one line, with anything that looks like a password masked.
  static std::string clean(const char* what) { return one_line(mask_warehouse_url(what)); }

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

  std::string target_;  // as configured, password included: only for connecting
  std::string where_;   // the target as it may be shown: password masked
  std::string schema_;
  std::unique_ptr<pqxx::connection> conn_;
  std::map<std::string, HeldLock> held_;  // lock name -> the run lock live PgRunLocks hold
  int locked_backend_pid_ = 0;             // the session they were taken in
};

}  // namespace

bool is_pg_conninfo(std::string_view target) {
  std::size_t i = 0;
  while (i < target.size() && std::isspace(static_cast<unsigned char>(target[i]))) ++i;
  const std::size_t start = i;
  while (i < target.size() && (std::isalnum(static_cast<unsigned char>(target[i])) || target[i] == '_')) ++i;
  if (i == start) return false;
  while (i < target.size() && std::isspace(static_cast<unsigned char>(target[i]))) ++i;
  return i < target.size() && target[i] == '=';
}

std::string with_application_name(const std::string& target) {
  const std::string param = std::string("fallback_application_name=") + kApplicationName;
  if (is_pg_uri(target)) {
    const std::size_t query = target.find('?');
    if (query == std::string::npos) return target + "?" + param;
    const char last = target.back();
    return target + (last == '?' || last == '&' ? "" : "&") + param;
  }
  return target + " " + param;
}

std::unique_ptr<Warehouse> open_postgres_warehouse(const std::string& target, const std::string& schema) {
  if (schema.empty()) throw ConfigError("warehouse.schema must not be empty for a PostgreSQL warehouse");
  return std::make_unique<PostgresWarehouse>(target, schema);
}

}  // namespace qetl
