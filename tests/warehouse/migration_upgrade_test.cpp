// Warehouses created by earlier releases, with data in them, upgraded by this binary: every later
// migration applies once, the data is untouched, the trend views answer exactly as before (now
// from the trend tables, which migration 7 fills from the history), and the writer works on them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "warehouse/migrations.hpp"
#include "warehouse/trend_fixtures.hpp"

namespace qetl::test {
namespace {

const std::vector<Migration>& migrations_of(const SqliteBackend&) { return sqlite_migrations(); }
const std::vector<Migration>& migrations_of(const PostgresBackend&) { return postgres_migrations(); }

// A timestamp literal each backend stores as this UTC instant.
std::string at(const SqliteBackend&, const std::string& utc) { return "'" + utc + "'"; }
std::string at(const PostgresBackend&, const std::string& utc) { return "'" + utc + "+00'"; }

// Migrations 1 .. `last` applied as the migrator applies them: each file and its
// schema_migrations row in one transaction (PostgreSQL's exec() is one; SQLite's is not, so the
// text opens and commits one).
std::string recorded(const Migration& m) {
  return "\n;INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) + ", '" + m.name +
         "');";
}
void apply_migrations_up_to(const SqliteBackend& b, int last) {
  for (const Migration& m : sqlite_migrations()) {
    if (m.version <= last) b.exec(std::string("BEGIN IMMEDIATE;\n") + m.sql + recorded(m) + "\nCOMMIT;");
  }
}
void apply_migrations_up_to(const PostgresBackend& b, int last) {
  b.create_empty_schema();
  for (const Migration& m : postgres_migrations()) {
    if (m.version <= last) b.exec(std::string(m.sql) + recorded(m));
  }
}
void apply_first_migration(const SqliteBackend& b) { apply_migrations_up_to(b, 1); }
void apply_first_migration(const PostgresBackend& b) { apply_migrations_up_to(b, 1); }

template <class Backend>
class MigrationUpgrade : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(migrations_of(backend).front().version, 1);
    apply_first_migration(backend);
    backend.exec(
        "INSERT INTO customer_metrics (snapshot_at, project, environment, window_name, window_kind, window_from, "
        "window_to, segment, country, target_platform, clients_with_event, active_subscribers, active_trials, "
        "billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id) "
        "VALUES (" + at(backend, "2024-03-10 00:00:00") + ", 'my-app', 1, 'all_time', 'fixed', " +
        at(backend, "2015-01-01 00:00:00") + ", " + at(backend, "2024-03-10 00:00:00") +
        ", 'country=US;target_platform=iOS', 'US', 'iOS', 1284, 311, 42, 7, 12.5, 33.25, 1.5, 9.99, 380276.24, " +
        at(backend, "2024-03-10 00:02:05") + ", 'run-old')");
    backend.exec(
        "INSERT INTO etl_runs (run_id, started_at, finished_at, snapshot_at, status, cells_planned, cells_succeeded, "
        "cells_failed, rows_upserted, requests_sent, version, config_sha256, host, message) VALUES ('run-old', " +
        at(backend, "2024-03-10 00:01:00") + ", " + at(backend, "2024-03-10 00:03:00") + ", " +
        at(backend, "2024-03-10 00:00:00") + ", 'succeeded', 1, 1, 0, 1, 1, '0.0.9', '" + std::string(64, 'f') +
        "', 'etl-1.internal', '')");
  }

  Rows metrics_row() {
    return backend.query("SELECT " + Backend::ts("snapshot_at") + ", project, environment, window_name, window_kind, " +
                         Backend::ts("window_from") + ", " + Backend::ts("window_to") +
                         ", segment, country, target_platform, status, clients_with_event, active_subscribers, "
                         "active_trials, billing_retry, churned_subscribers, canceled_trials, avg_payment_count, "
                         "avg_price, sales, " + Backend::ts("fetched_at") + ", run_id FROM customer_metrics");
  }
  Rows run_row() {
    return backend.query("SELECT run_id, " + Backend::ts("started_at") + ", " + Backend::ts("finished_at") + ", " +
                         Backend::ts("snapshot_at") +
                         ", status, cells_planned, cells_succeeded, cells_failed, rows_upserted, requests_sent, "
                         "version, config_sha256, host, message FROM etl_runs");
  }

  Backend backend;
};

TYPED_TEST_SUITE(MigrationUpgrade, Backends, BackendNames);

TYPED_TEST(MigrationUpgrade, EveryLaterMigrationAppliesOnceInOrderWithItsName) {
  auto w = this->backend.open();
  EXPECT_EQ(w->schema_version(), 1);
  const std::vector<Migration>& all = migrations_of(this->backend);
  const int latest = w->latest_schema_version();
  ASSERT_GE(latest, 3);  // 3 created the trend views
  EXPECT_EQ(w->migrate(), latest - 1);
  EXPECT_EQ(w->schema_version(), latest);
  EXPECT_EQ(w->migrate(), 0);

  const Rows applied = this->backend.query("SELECT version, name FROM schema_migrations ORDER BY version");
  Rows want;
  for (const Migration& m : all) want.push_back({std::to_string(m.version), std::string(m.name)});
  EXPECT_EQ(applied, want);
  EXPECT_EQ(applied.size(), static_cast<std::size_t>(latest));
  EXPECT_EQ(applied[0], (std::vector<Value>{"1", "initial"}));
  EXPECT_EQ(applied[2], (std::vector<Value>{"3", "trend_views"}));
  EXPECT_EQ(this->backend.query("SELECT COUNT(*) FROM schema_migrations WHERE applied_at IS NULL")[0][0], "0");
}

TYPED_TEST(MigrationUpgrade, DataWrittenUnderTheFirstSchemaIsIntact) {
  const Rows metrics_before = this->metrics_row();
  const Rows run_before = this->run_row();
  ASSERT_EQ(metrics_before.size(), 1u);
  this->backend.open()->migrate();
  EXPECT_EQ(this->metrics_row(), metrics_before);
  EXPECT_EQ(this->metrics_row()[0],
            (std::vector<Value>{"2024-03-10 00:00:00", "my-app", "1", "all_time", "fixed", "2015-01-01 00:00:00",
                                "2024-03-10 00:00:00", "country=US;target_platform=iOS", "US", "iOS", std::nullopt,
                                "1284", "311", "42", "7", "12.5", "33.25", "1.5", "9.99", "380276.24",
                                "2024-03-10 00:02:05", "run-old"}));
  EXPECT_EQ(this->run_row(), run_before);
  EXPECT_EQ(this->run_row()[0],
            (std::vector<Value>{"run-old", "2024-03-10 00:01:00", "2024-03-10 00:03:00", "2024-03-10 00:00:00",
                                "succeeded", "1", "1", "0", "1", "1", "0.0.9", std::string(64, 'f'), "etl-1.internal",
                                ""}));
}

TYPED_TEST(MigrationUpgrade, TheViewsAndTheWriterWorkOnTheUpgradedData) {
  auto w = this->backend.open();
  w->migrate();
  trend::Table latest = trend::read_table(
      this->backend, "SELECT snapshot_at, segment, country, active_subscribers, sales FROM customer_metrics_latest");
  ASSERT_EQ(latest.rows.size(), 1u);
  EXPECT_EQ(latest.rows[0], (std::vector<Value>{"2024-03-10 00:00:00", "country=US;target_platform=iOS", "US", "311",
                                                "380276.24"}));

  // The next night, written by this binary into the upgraded tables.
  MetricsRow next;
  next.snapshot_at = parse_utc_timestamp("2024-03-11");
  next.project = "my-app";
  next.window_name = "all_time";
  next.window_kind = "fixed";
  next.window_from = parse_utc_timestamp("2015-01-01");
  next.window_to = next.snapshot_at;
  next.segment = "country=US;target_platform=iOS";
  next.dimensions[*dimension_index("country")] = "US";
  next.dimensions[*dimension_index("target_platform")] = "iOS";
  next.metrics = {1300, 320, 40, 6, 12.0, 33.0, "1.5", "9.99", "381000.5"};
  next.fetched_at = next.snapshot_at + 90;
  next.run_id = "run-new";
  RunRecord new_run = trend::fixture_run("run-new", next.snapshot_at);
  w->start_run(new_run);
  ASSERT_EQ(w->upsert_metrics({next}).rows_written, 1u);
  new_run.status = "succeeded";
  w->finish_run(new_run);
  RunRecord old_run;
  old_run.run_id = "run-old";
  old_run.started_at = parse_utc_timestamp("2024-03-10T00:01:00");
  old_run.finished_at = parse_utc_timestamp("2024-03-10T00:04:00");
  old_run.snapshot_at = parse_utc_timestamp("2024-03-10");
  old_run.status = "partial";
  old_run.version = "0.0.9";
  old_run.config_sha256 = std::string(64, 'f');
  old_run.host = "etl-1.internal";
  EXPECT_NO_THROW(w->finish_run(old_run));
  EXPECT_EQ(this->backend.query("SELECT status FROM etl_runs WHERE run_id = 'run-old'")[0][0], "partial");

  const trend::Table daily = trend::read_table(
      this->backend,
      "SELECT day, snapshot_at, active_subscribers, active_subscribers_change_1d, clients_with_event_change_1d, "
      "active_subscribers_change_7d FROM customer_metrics_daily ORDER BY day");
  ASSERT_EQ(daily.rows.size(), 2u);
  EXPECT_EQ(daily.rows[0], (std::vector<Value>{"2024-03-10", "2024-03-10 00:00:00", "311", std::nullopt, std::nullopt,
                                               std::nullopt}));
  EXPECT_EQ(daily.rows[1], (std::vector<Value>{"2024-03-11", "2024-03-11 00:00:00", "320", "9", "16", std::nullopt}));
  latest = trend::read_table(this->backend, "SELECT snapshot_at, run_id FROM customer_metrics_latest");
  EXPECT_EQ(latest.rows, (Rows{{"2024-03-11 00:00:00", "run-new"}}));
}

// Release 0.2.0's schema (migrations 1 to 4) holding a month of history as that release loaded it.
template <class Backend>
class UpgradeFromRelease020 : public ::testing::Test {
 protected:
  void SetUp() override {
    apply_migrations_up_to(backend, 4);
    auto w = backend.open();
    ASSERT_EQ(w->schema_version(), 4);
    trend::load_as_batches(*w, trend::seeded_rows());
  }

  trend::Table latest() {
    return trend::read_table(backend, trend::select_all(trend::latest_columns(), "customer_metrics_latest"));
  }
  trend::Table daily() {
    return trend::read_table(backend, trend::select_all(trend::daily_columns(), "customer_metrics_daily"));
  }

  Backend backend;
};

TYPED_TEST_SUITE(UpgradeFromRelease020, Backends, BackendNames);

TYPED_TEST(UpgradeFromRelease020, TheViewsGiveTheSameRowsBeforeAndAfter) {
  const trend::Table latest_before = this->latest();
  const trend::Table daily_before = this->daily();
  // The 0.2.0 views answered what the history says (the fixtures work it out without SQL).
  ASSERT_EQ(trend::sorted(latest_before.rows), trend::sorted(trend::expected_latest(trend::seeded_rows())));
  ASSERT_EQ(trend::sorted(daily_before.rows), trend::sorted(trend::expected_daily(trend::seeded_rows())));

  auto w = this->backend.open();
  EXPECT_EQ(w->migrate(), w->latest_schema_version() - 4);
  const trend::Table latest_after = this->latest();
  const trend::Table daily_after = this->daily();
  EXPECT_EQ(latest_after.columns, latest_before.columns);
  EXPECT_EQ(daily_after.columns, daily_before.columns);
  EXPECT_EQ(trend::sorted(latest_after.rows), trend::sorted(latest_before.rows));
  EXPECT_EQ(trend::sorted(daily_after.rows), trend::sorted(daily_before.rows));
  // And they come from the trend tables, which the migration filled with every day of the history.
  EXPECT_EQ(this->backend.query("SELECT COUNT(*) FROM customer_metrics_days")[0][0],
            std::to_string(daily_before.rows.size()));
  EXPECT_EQ(this->backend.query("SELECT COUNT(*) FROM customer_metrics_newest")[0][0],
            std::to_string(latest_before.rows.size()));
}

TYPED_TEST(UpgradeFromRelease020, TheNextNightsRunLandsInTheUpgradedTrendTables) {
  auto w = this->backend.open();
  w->migrate();
  // 2024-03-30 for the fixed window of every production series, loaded by this binary's writer.
  std::vector<MetricsRow> all = trend::seeded_rows();
  std::vector<MetricsRow> night;
  const UnixSeconds t = trend::day_start(trend::kDays);
  for (std::size_t s = 0; s < trend::series_specs().size(); ++s) {
    const trend::SeriesSpec& spec = trend::series_specs()[s];
    if (spec.window_kind == "fixed" && spec.environment == 1) {
      night.push_back(trend::series_row(spec, static_cast<std::int64_t>(s), t));
    }
  }
  ASSERT_EQ(night.size(), 8u);
  trend::load_as_runs(*w, night);
  all.insert(all.end(), night.begin(), night.end());
  EXPECT_EQ(trend::sorted(this->daily().rows), trend::sorted(trend::expected_daily(all)));
  EXPECT_EQ(trend::sorted(this->latest().rows), trend::sorted(trend::expected_latest(all)));
}

}  // namespace
}  // namespace qetl::test
