#include "warehouse/postgres_warehouse.hpp"

#include <cctype>
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

namespace qetl {
namespace {

constexpr const char* kApplicationName = "qonversion-etl";
// Rows of one upsert batch are COPYed here; ON COMMIT DROP keeps it to one transaction.
constexpr const char* kBatchTable = "qetl_metrics_batch";
constexpr const char* kRecordFailure = "qetl_record_failure";

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
      : where_(mask_warehouse_url(target)), schema_(schema) {
    try {
      conn_ = std::make_unique<pqxx::connection>(with_application_name(target));
    } catch (const std::exception& e) {
      throw WarehouseError("cannot connect to PostgreSQL warehouse " + where_ + ": " + clean(e.what()));
    }
    guarded("setting up the session", [&] {
      // set_variable (not a plain SET) so libpqxx restores them if it reconnects.
      conn_->set_variable("search_path", conn_->quote_name(schema_));
      conn_->set_variable("client_min_messages", "warning");  // NOTICEs would bypass our log format
      conn_->prepare(kRecordFailure,
                     "INSERT INTO etl_cell_failures (run_id, project, environment, window_name, window_from, "
                     "segment, attempts, last_http_status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                     "ON CONFLICT (run_id, project, environment, window_name, window_from, segment) DO UPDATE "
                     "SET attempts = EXCLUDED.attempts, last_http_status = EXCLUDED.last_http_status, "
                     "error = EXCLUDED.error");
    });
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
    guarded("recording the start of the run", [&] {
      pqxx::work tx(*conn_, "start_run");
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
    guarded("recording the end of the run", [&] {
      pqxx::work tx(*conn_, "finish_run");
      const pqxx::result r = tx.exec_params(
          "UPDATE etl_runs SET started_at = $2, finished_at = $3, snapshot_at = $4, status = $5, "
          "cells_planned = $6, cells_succeeded = $7, cells_failed = $8, rows_upserted = $9, requests_sent = $10, "
          "version = $11, config_sha256 = $12, host = $13, message = $14 WHERE run_id = $1",
          run.run_id, pg_timestamp(run.started_at), pg_timestamp(run.finished_at), pg_timestamp(run.snapshot_at),
          run.status, run.cells_planned, run.cells_succeeded, run.cells_failed, run.rows_upserted, run.requests_sent,
          run.version, run.config_sha256, run.host, run.message);
      if (r.affected_rows() == 0) throw WarehouseError("no etl_runs row with run_id '" + run.run_id + "' to finish");
      tx.commit();
    });
  }

  // COPY into a temp table, then one INSERT ... ON CONFLICT: COPY is the fast path into
  // PostgreSQL, and the single upsert statement keeps the whole batch atomic.
  std::size_t upsert_metrics(const std::vector<MetricsRow>& rows) override {
    if (rows.empty()) return 0;
    return guarded("upserting customer_metrics", [&] {
      const auto unique = last_row_per_key(rows);
      pqxx::work tx(*conn_, "upsert_metrics");
      tx.exec0(std::string("CREATE TEMP TABLE ") + kBatchTable +
               " (LIKE customer_metrics INCLUDING DEFAULTS) ON COMMIT DROP");
      {
        pqxx::stream_to copy(tx, kBatchTable, metrics_columns());
        for (const MetricsRow* row : unique) copy << copy_tuple(*row);
        copy.complete();
      }
      const pqxx::result r = tx.exec0(upsert_from_batch_sql());
      tx.commit();
      return static_cast<std::size_t>(r.affected_rows());
    });
  }

  void record_failures(const std::vector<CellFailure>& failures) override {
    if (failures.empty()) return;
    guarded("recording cell failures", [&] {
      pqxx::work tx(*conn_, "record_failures");
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

 private:
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

  std::string where_;  // the target as it may be shown: password masked
  std::string schema_;
  std::unique_ptr<pqxx::connection> conn_;
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
