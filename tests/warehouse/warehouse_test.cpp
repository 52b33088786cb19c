// Every warehouse behaviour, run against SQLite and PostgreSQL alike (STYLE habit 10).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "util/errors.hpp"
#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"

namespace qetl::test {
namespace {

const UnixSeconds kSnapshot = parse_utc_timestamp("2024-03-10");
const UnixSeconds kNextSnapshot = parse_utc_timestamp("2024-03-11");

// The customer_metrics columns in table order, spelled out here rather than taken from the code
// under test, so a column that is misnamed or misplaced there shows up as a failure.
const std::vector<std::string> kColumns = {
    "snapshot_at", "project", "environment", "window_name", "window_kind", "window_from", "window_to", "segment",
    "status", "target_platform", "country", "product_id", "purchase_currency", "locale", "model", "os_version",
    "app_version", "sdk_version", "media_source_name", "campaign_name", "ad_set_name", "ad_name",
    "experiment_uid", "experiment_group_uid", "search", "clients_with_event", "active_subscribers",
    "active_trials", "billing_retry", "churned_subscribers", "canceled_trials", "avg_payment_count", "avg_price",
    "sales", "fetched_at", "run_id"};
bool is_timestamp_column(const std::string& c) {
  return c == "snapshot_at" || c == "window_from" || c == "window_to" || c == "fetched_at";
}
bool is_double_column(const std::string& c) { return c == "churned_subscribers" || c == "canceled_trials"; }

MetricsRow unfiltered_row() {
  MetricsRow r;
  r.snapshot_at = kSnapshot;
  r.project = "my-app";
  r.environment = 1;
  r.window_name = "all_time";
  r.window_kind = "fixed";
  r.window_from = parse_utc_timestamp("2015-01-01");
  r.window_to = kSnapshot;
  r.segment = "all";
  r.metrics = {1284, 311, 42, 7, 12.5, 33.25, "1.5", "9.99", "380276.24"};
  r.fetched_at = kSnapshot + 125;
  r.run_id = "run-1";
  return r;
}

MetricsRow two_filter_row() {
  MetricsRow r = unfiltered_row();
  r.environment = 0;
  r.window_name = "last_7_days";
  r.window_kind = "rolling";
  r.window_from = kSnapshot - 7 * 86400;
  r.segment = "country=US;target_platform=iOS";
  r.dimensions[*dimension_index("country")] = "US";
  r.dimensions[*dimension_index("target_platform")] = "iOS";
  r.metrics = {0, 0, 0, 0, 0, 0, "0", "0", "0"};
  return r;
}

// Every dimension set to a distinct value: a column mix-up anywhere shows.
MetricsRow every_filter_row() {
  MetricsRow r = unfiltered_row();
  r.window_name = "daily_cohorts";
  r.window_kind = "cohort";
  r.window_from = kSnapshot - 86400;
  r.window_to = kSnapshot;
  r.segment = "every";
  for (std::size_t i = 0; i < kDimensionCount; ++i) r.dimensions[i] = "v_" + std::string(kDimensions[i]);
  r.metrics = {9000000000, 123456789, 5, 1, 0.1, 99.75, "2.25", "0.5", "123.456"};
  return r;
}

using KeyTuple = std::tuple<std::string, int, std::string, UnixSeconds, std::string>;
std::vector<KeyTuple> as_tuples(const std::set<CellKey>& keys) {
  std::vector<KeyTuple> out;
  for (const auto& k : keys) out.emplace_back(k.project, k.environment, k.window_name, k.window_from, k.segment);
  return out;
}

std::vector<MetricsRow> three_rows() { return {unfiltered_row(), two_filter_row(), every_filter_row()}; }

template <class Backend>
class WarehouseTest : public ::testing::Test {
 protected:
  std::unique_ptr<Warehouse> migrated() {
    auto w = backend.open();
    w->migrate();
    return w;
  }

  Rows metrics_table() {
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < kColumns.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += is_timestamp_column(kColumns[i]) ? Backend::ts(kColumns[i]) : kColumns[i];
    }
    return backend.query(sql + " FROM customer_metrics");
  }

  std::size_t count(const std::string& table) { return std::stoul(*backend.query("SELECT COUNT(*) FROM " + table)[0][0]); }

  // Finds `row` by its key among what the database holds and compares every column.
  void expect_stored(const MetricsRow& r) {
    const Rows table = metrics_table();
    const std::vector<Value>* found = nullptr;
    for (const auto& candidate : table) {
      if (candidate[0] == format_sql_timestamp(r.snapshot_at) && candidate[1] == r.project &&
          candidate[2] == std::to_string(r.environment) && candidate[3] == r.window_name &&
          candidate[5] == format_sql_timestamp(r.window_from) && candidate[7] == r.segment) {
        found = &candidate;
      }
    }
    ASSERT_NE(found, nullptr) << "no row for segment " << r.segment << " at " << format_sql_timestamp(r.snapshot_at);
    const std::vector<Value>& got = *found;
    std::vector<Value> want = {format_sql_timestamp(r.snapshot_at), r.project, std::to_string(r.environment),
                               r.window_name, r.window_kind, format_sql_timestamp(r.window_from),
                               format_sql_timestamp(r.window_to), r.segment};
    for (const auto& d : r.dimensions) want.push_back(d);
    const Metrics& m = r.metrics;
    for (auto n : {m.clients_with_event, m.active_subscribers, m.active_trials, m.billing_retry}) {
      want.push_back(std::to_string(n));
    }
    want.push_back(std::nullopt);  // doubles: compared as numbers below
    want.push_back(std::nullopt);
    for (const auto& d : {m.avg_payment_count, m.avg_price, m.sales}) want.push_back(d);
    want.push_back(format_sql_timestamp(r.fetched_at));
    want.push_back(r.run_id);
    ASSERT_EQ(got.size(), kColumns.size());
    for (std::size_t i = 0; i < kColumns.size(); ++i) {
      if (is_double_column(kColumns[i])) {
        ASSERT_TRUE(got[i].has_value()) << kColumns[i];
        const double want_double = kColumns[i] == "churned_subscribers" ? m.churned_subscribers : m.canceled_trials;
        EXPECT_EQ(std::stod(*got[i]), want_double) << kColumns[i] << " of segment " << r.segment;
      } else {
        EXPECT_EQ(got[i], want[i]) << kColumns[i] << " of segment " << r.segment;
      }
    }
  }

  Backend backend;
};

TYPED_TEST_SUITE(WarehouseTest, Backends, BackendNames);

TYPED_TEST(WarehouseTest, MigrateOnEmptyDatabaseCreatesEveryTableAndRecordsTheVersion) {
  auto w = this->backend.open();
  EXPECT_EQ(w->schema_version(), 0);
  const int latest = w->latest_schema_version();
  ASSERT_GE(latest, 1);
  EXPECT_EQ(w->migrate(), latest);
  EXPECT_EQ(w->schema_version(), latest);
  for (const char* table : {"customer_metrics", "etl_runs", "etl_cell_failures", "schema_migrations"}) {
    EXPECT_TRUE(this->backend.table_exists(table)) << table;
  }
  const Rows m = this->backend.query("SELECT version, name, " + TypeParam::ts("applied_at") +
                                     " FROM schema_migrations ORDER BY version");
  ASSERT_EQ(m.size(), static_cast<std::size_t>(latest));
  EXPECT_EQ(m[0][0], "1");
  EXPECT_EQ(m[0][1], "initial");
  ASSERT_TRUE(m[0][2].has_value());
  EXPECT_LE(std::abs(parse_utc_timestamp(*m[0][2]) - now_utc()), 300) << *m[0][2];
}

TYPED_TEST(WarehouseTest, MigrateTwiceChangesNothingTheSecondTime) {
  auto w = this->backend.open();
  ASSERT_GE(w->migrate(), 1);
  const std::string sql = "SELECT version, name, " + TypeParam::ts("applied_at") + " FROM schema_migrations";
  const Rows before = this->backend.query(sql);
  EXPECT_EQ(w->migrate(), 0);
  EXPECT_EQ(this->backend.open()->migrate(), 0);  // a later run of the job
  EXPECT_EQ(this->backend.query(sql), before);
  EXPECT_EQ(w->schema_version(), w->latest_schema_version());
}

TYPED_TEST(WarehouseTest, ConcurrentMigratorsAllSucceedAndApplyEachMigrationOnce) {
  // Several shards of one nightly job start at the same moment against one warehouse.
  constexpr int kMigrators = 4;
  std::atomic<int> ready{0};
  std::vector<int> applied(kMigrators, -1);
  std::vector<std::string> errors(kMigrators);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto w = this->backend.open();
        ++ready;
        while (ready.load() < kMigrators) std::this_thread::yield();
        applied[i] = w->migrate();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  int total = 0;
  for (int i = 0; i < kMigrators; ++i) {
    EXPECT_EQ(errors[i], "") << "migrator " << i;
    total += applied[i];
  }
  const int latest = this->backend.open()->latest_schema_version();
  EXPECT_EQ(total, latest);
  EXPECT_EQ(this->count("schema_migrations"), static_cast<std::size_t>(latest));
}

TYPED_TEST(WarehouseTest, UpsertStoresEveryColumnWithNullsForUnfilteredDimensions) {
  auto w = this->migrated();
  EXPECT_EQ(w->upsert_metrics(three_rows()).rows_written, 3u);
  EXPECT_EQ(this->count("customer_metrics"), 3u);
  for (const auto& r : three_rows()) this->expect_stored(r);
}

TYPED_TEST(WarehouseTest, EmptyBatchWritesNothing) {
  auto w = this->migrated();
  EXPECT_EQ(w->upsert_metrics({}).rows_written, 0u);
  EXPECT_EQ(this->count("customer_metrics"), 0u);
}

TYPED_TEST(WarehouseTest, SameSnapshotAgainUpdatesRowsInPlace) {
  auto w = this->migrated();
  ASSERT_EQ(w->upsert_metrics(three_rows()).rows_written, 3u);
  std::vector<MetricsRow> rerun = three_rows();
  for (auto& r : rerun) {
    r.metrics.clients_with_event += 10;
    r.metrics.churned_subscribers = 20.5;
    r.metrics.sales = "400000.5";
    r.window_to = kSnapshot + 3600;  // not part of the key
    r.fetched_at = kSnapshot + 7200;
    r.run_id = "run-2";
  }
  rerun[2].dimensions[0].reset();  // a value can become NULL
  EXPECT_EQ(w->upsert_metrics(rerun).rows_written, 3u);
  EXPECT_EQ(this->count("customer_metrics"), 3u);
  for (const auto& r : rerun) this->expect_stored(r);
}

TYPED_TEST(WarehouseTest, NewSnapshotAddsRowsAndLeavesTheOldOnes) {
  auto w = this->migrated();
  ASSERT_EQ(w->upsert_metrics(three_rows()).rows_written, 3u);
  std::vector<MetricsRow> next = three_rows();
  for (auto& r : next) {
    r.snapshot_at = kNextSnapshot;
    r.run_id = "run-2";
    r.metrics.active_trials = 77;
  }
  EXPECT_EQ(w->upsert_metrics(next).rows_written, 3u);
  EXPECT_EQ(this->count("customer_metrics"), 6u);
  for (const auto& r : three_rows()) this->expect_stored(r);
  for (const auto& r : next) this->expect_stored(r);
}

// A row the database refuses for its values never takes the rest of its batch down.
TYPED_TEST(WarehouseTest, BatchWithARowViolatingACheckStoresTheOthersAndReportsThatRow) {
  auto w = this->migrated();
  ASSERT_EQ(w->upsert_metrics({unfiltered_row()}).rows_written, 1u);
  MetricsRow changed = unfiltered_row();
  changed.metrics.sales = "1";
  changed.run_id = "run-2";
  MetricsRow bad = two_filter_row();
  bad.window_kind = "weekly";
  const UpsertResult result = w->upsert_metrics({changed, bad, every_filter_row()});
  EXPECT_EQ(result.rows_written, 2u);
  ASSERT_EQ(result.refused.size(), 1u);
  EXPECT_EQ(result.refused[0].index, 1u);
  EXPECT_NE(result.refused[0].reason.find("window_kind"), std::string::npos) << result.refused[0].reason;
  EXPECT_EQ(result.refused[0].reason.find('\n'), std::string::npos) << "not one line: " << result.refused[0].reason;
  EXPECT_EQ(this->count("customer_metrics"), 2u);
  this->expect_stored(changed);
  this->expect_stored(every_filter_row());
}

TYPED_TEST(WarehouseTest, NonNumericDecimalIsRefusedAndTheRestOfTheBatchStored) {
  auto w = this->migrated();
  MetricsRow bad = two_filter_row();
  bad.metrics.sales = "12,5";
  const UpsertResult result = w->upsert_metrics({unfiltered_row(), bad});
  EXPECT_EQ(result.rows_written, 1u);
  ASSERT_EQ(result.refused.size(), 1u);
  EXPECT_EQ(result.refused[0].index, 1u);
  EXPECT_NE(result.refused[0].reason.find("sales"), std::string::npos) << result.refused[0].reason;
  EXPECT_EQ(this->count("customer_metrics"), 1u);
  this->expect_stored(unfiltered_row());
}

TYPED_TEST(WarehouseTest, DuplicateKeyInOneBatchKeepsTheLastRow) {
  auto w = this->migrated();
  MetricsRow first = unfiltered_row();
  MetricsRow second = unfiltered_row();
  second.metrics.active_subscribers = 999;
  second.run_id = "run-later";
  EXPECT_EQ(w->upsert_metrics({first, two_filter_row(), second}).rows_written, 2u);
  EXPECT_EQ(this->count("customer_metrics"), 2u);
  this->expect_stored(second);
  this->expect_stored(two_filter_row());
}

TYPED_TEST(WarehouseTest, TextWithTabsNewlinesBackslashesAndQuotesSurvives) {
  auto w = this->migrated();
  MetricsRow r = every_filter_row();
  r.project = "app\twith tab";
  r.segment = "search=line1\nline2";
  r.dimensions[*dimension_index("search")] = "line1\nline2";
  r.dimensions[*dimension_index("campaign_name")] = "back\\slash \\N and \\t";
  r.dimensions[*dimension_index("ad_name")] = "quote' double\" ünïcødé ✓";
  r.dimensions[*dimension_index("locale")] = "";  // empty text is not NULL
  r.run_id = "run'; DROP TABLE etl_runs; --";
  ASSERT_EQ(w->upsert_metrics({r}).rows_written, 1u);
  this->expect_stored(r);
  EXPECT_TRUE(this->backend.table_exists("etl_runs"));
}

TYPED_TEST(WarehouseTest, DecimalsAreStoredWithoutRounding) {
  auto w = this->migrated();
  MetricsRow r = unfiltered_row();
  r.metrics.sales = "380276.24";
  r.metrics.avg_price = "1234567890.1234567891";  // 20 significant digits
  r.metrics.avg_payment_count = "0.000001";
  ASSERT_EQ(w->upsert_metrics({r}).rows_written, 1u);
  const Rows got = this->backend.query("SELECT sales, avg_price, avg_payment_count FROM customer_metrics");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0][0], "380276.24");
  EXPECT_EQ(std::stod(*got[0][2]), 0.000001);
  if constexpr (TypeParam::kExactDecimals) {
    EXPECT_EQ(got[0][1], "1234567890.1234567891");
  } else {
    // SQLite has no exact decimal: it keeps the nearest double, not a truncated or garbled value.
    const Rows real = this->backend.query(
        "SELECT typeof(avg_price), avg_price = 1234567890.1234567891 FROM customer_metrics");
    EXPECT_EQ(real[0], (std::vector<Value>{"real", "1"}));
  }
}

TYPED_TEST(WarehouseTest, StartAndFinishRunRoundTrip) {
  auto w = this->migrated();
  RunRecord run;
  run.run_id = "20240310T000000Z-abc123";
  run.started_at = kSnapshot + 60;
  run.snapshot_at = kSnapshot;
  run.cells_planned = 2000;
  run.version = "0.1.0";
  run.config_sha256 = std::string(64, 'a');
  run.host = "etl-1.internal";
  w->start_run(run);
  const std::string sql = "SELECT run_id, " + TypeParam::ts("started_at") + ", " + TypeParam::ts("finished_at") +
                          ", " + TypeParam::ts("snapshot_at") +
                          ", status, cells_planned, cells_succeeded, cells_failed, rows_upserted, requests_sent, "
                          "version, config_sha256, host, message FROM etl_runs";
  Rows got = this->backend.query(sql);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (std::vector<Value>{run.run_id, "2024-03-10 00:01:00", std::nullopt, "2024-03-10 00:00:00",
                                        "running", "2000", "0", "0", "0", "0", "0.1.0", run.config_sha256,
                                        "etl-1.internal", ""}));

  run.finished_at = kSnapshot + 3 * 3600 + 5;
  run.status = "partial";
  run.cells_succeeded = 1990;
  run.cells_failed = 10;
  run.rows_upserted = 1990;
  run.requests_sent = 2043;
  run.message = "10 cells failed";
  w->finish_run(run);
  got = this->backend.query(sql);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (std::vector<Value>{run.run_id, "2024-03-10 00:01:00", "2024-03-10 03:00:05",
                                        "2024-03-10 00:00:00", "partial", "2000", "1990", "10", "1990", "2043",
                                        "0.1.0", run.config_sha256, "etl-1.internal", "10 cells failed"}));
}

TYPED_TEST(WarehouseTest, RunScopeAndFiguresAreStoredAtStartAndUpdatedAtFinish) {
  auto w = this->migrated();
  RunRecord run;
  run.run_id = "r-scope";
  run.started_at = run.snapshot_at = kSnapshot;
  run.version = "0.3.0";
  run.config_sha256 = "0";
  run.host = "h";
  run.projects = {"alpha", "my \"app\"", "ünï"};
  run.shard = "2/3";
  run.retries = 4;
  w->start_run(run);
  const std::string sql = "SELECT projects, shard, retries, responses_429, data_check_findings FROM etl_runs";
  EXPECT_EQ(this->backend.query(sql),
            (Rows{{Value(R"(["alpha","my \"app\"","ünï"])"), Value("2/3"), Value("4"), Value("0"), Value("0")}}));
  run.projects = {"alpha"};
  run.shard = "all";
  run.responses_429 = 2;
  run.data_check_findings = 7;
  run.status = "succeeded";
  run.finished_at = kSnapshot + 60;
  w->finish_run(run);
  EXPECT_EQ(this->backend.query(sql), (Rows{{Value(R"(["alpha"])"), Value("all"), Value("4"), Value("2"), Value("7")}}));
}

TYPED_TEST(WarehouseTest, FinishingARunThatWasNeverStartedThrows) {
  auto w = this->migrated();
  RunRecord run;
  run.run_id = "never-started";
  run.status = "succeeded";
  try {
    w->finish_run(run);
    FAIL() << "finish_run of an unknown run succeeded";
  } catch (const WarehouseError& e) {
    EXPECT_NE(std::string(e.what()).find("never-started"), std::string::npos) << e.what();
  }
  EXPECT_EQ(this->count("etl_runs"), 0u);
}

TYPED_TEST(WarehouseTest, RunWithAnUnknownStatusIsRefused) {
  auto w = this->migrated();
  RunRecord run;
  run.run_id = "r";
  run.status = "done";
  EXPECT_THROW(w->start_run(run), WarehouseError);
  EXPECT_EQ(this->count("etl_runs"), 0u);
}

TYPED_TEST(WarehouseTest, RecordFailuresUpsertsOneRowPerCell) {
  auto w = this->migrated();
  CellFailure rate_limited{"run-1", "my-app", 1, "all_time", parse_utc_timestamp("2015-01-01"), "all", 5, 429,
                           "HTTP 429 after 5 attempts"};
  CellFailure timed_out{"run-1", "my-app", 0, "daily_cohorts", kSnapshot - 86400, "country=US", 3, std::nullopt,
                        "timeout after 30 s"};
  w->record_failures({rate_limited, timed_out});
  const std::string sql = "SELECT run_id, project, environment, window_name, " + TypeParam::ts("window_from") +
                          ", segment, attempts, last_http_status, error FROM etl_cell_failures ORDER BY segment";
  Rows got = this->backend.query(sql);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::vector<Value>{"run-1", "my-app", "1", "all_time", "2015-01-01 00:00:00", "all", "5",
                                        "429", "HTTP 429 after 5 attempts"}));
  EXPECT_EQ(got[1], (std::vector<Value>{"run-1", "my-app", "0", "daily_cohorts", "2024-03-09 00:00:00",
                                        "country=US", "3", std::nullopt, "timeout after 30 s"}));

  rate_limited.attempts = 7;
  rate_limited.last_http_status = 503;
  rate_limited.error = "HTTP 503";
  w->record_failures({rate_limited});
  got = this->backend.query(sql);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0][6], "7");
  EXPECT_EQ(got[0][7], "503");
  EXPECT_EQ(got[0][8], "HTTP 503");
}

TYPED_TEST(WarehouseTest, StoredCellsListsExactlyTheKeysOfThatSnapshot) {
  auto w = this->migrated();
  ASSERT_EQ(w->upsert_metrics(three_rows()).rows_written, 3u);
  MetricsRow later = two_filter_row();
  later.snapshot_at = kNextSnapshot;
  ASSERT_EQ(w->upsert_metrics({later}).rows_written, 1u);

  std::set<CellKey> want;
  for (const auto& r : three_rows()) want.insert({r.project, r.environment, r.window_name, r.window_from, r.segment});
  EXPECT_EQ(as_tuples(w->stored_cells(kSnapshot)), as_tuples(want));
  const std::set<CellKey> later_cells = w->stored_cells(kNextSnapshot);
  ASSERT_EQ(later_cells.size(), 1u);
  EXPECT_EQ(later_cells.begin()->segment, later.segment);
  EXPECT_EQ(later_cells.begin()->environment, 0);
  EXPECT_EQ(later_cells.begin()->window_from, later.window_from);
  EXPECT_TRUE(w->stored_cells(kNextSnapshot + 86400).empty());
}

TYPED_TEST(WarehouseTest, DatabaseWithANewerSchemaIsRefusedAndLeftUntouched) {
  this->backend.create_empty_schema();
  auto w = this->backend.open();
  const int latest = w->latest_schema_version();
  const int future = latest + 2;
  this->backend.exec("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at text)");
  this->backend.exec("INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(future) +
                     ", 'from_the_future')");
  EXPECT_EQ(w->schema_version(), future);
  try {
    w->migrate();
    FAIL() << "migrate() accepted a database newer than the binary";
  } catch (const WarehouseError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("database schema is version " + std::to_string(future)), std::string::npos) << what;
    EXPECT_NE(what.find("knows up to " + std::to_string(latest)), std::string::npos) << what;
    EXPECT_NE(what.find("upgrade qonversion-etl"), std::string::npos) << what;
  }
  EXPECT_FALSE(this->backend.table_exists("customer_metrics"));
  EXPECT_EQ(this->count("schema_migrations"), 1u);
}

TYPED_TEST(WarehouseTest, ReopenedWarehouseSeesEarlierRunsData) {
  {
    auto w = this->migrated();
    EXPECT_EQ(w->backend(), TypeParam::kName);
    ASSERT_EQ(w->upsert_metrics(three_rows()).rows_written, 3u);
  }
  auto again = this->backend.open();
  EXPECT_EQ(again->schema_version(), again->latest_schema_version());
  EXPECT_EQ(again->migrate(), 0);
  EXPECT_EQ(again->stored_cells(kSnapshot).size(), 3u);
}

}  // namespace
}  // namespace qetl::test
