// PostgreSQL plans on a million-row customer_metrics (with its trend tables rebuilt): a time range
// of one series is read through customer_metrics_series_idx directly; the trend views read only
// the trend tables, each question through the index that fits it, never by scanning them whole
// and never touching customer_metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <regex>
#include <string>

#include "common/pg_test_db.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test {
namespace {

constexpr const char* kSchema = "qetl_index_test";

// Generates the table: 1,000 series x 1,000 daily snapshots, dimensions unfiltered, figures
// moving with the day; then builds the trend tables from it, as migrate --rebuild does.
void generate_million_rows() {
  PgTestDatabase& db = PgTestDatabase::instance();
  db.reset_schema(kSchema);
  auto warehouse = open_warehouse(db.uri(), kSchema);
  warehouse->migrate();
  const auto started = std::chrono::steady_clock::now();
  {
    pqxx::connection c(db.conninfo());
    c.set_variable("search_path", kSchema);
    pqxx::work w(c);
    w.exec(
        "INSERT INTO customer_metrics (snapshot_at, project, environment, window_name, window_kind, window_from, "
        "window_to, segment, clients_with_event, active_subscribers, active_trials, billing_retry, "
        "churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id) "
        "SELECT '2022-01-01 00:00:00+00'::timestamptz + d * interval '1 day', 'my-app', 1, 'all_time', 'fixed', "
        "'2015-01-01 00:00:00+00', '2022-01-01 00:00:00+00'::timestamptz + d * interval '1 day', 'segment=' || s, "
        "1000 + d, 100 + d, 10 + s, 1, 1.5, 2.5, 1.5, 9.99, 1000 + d, "
        "'2022-01-01 00:02:00+00'::timestamptz + d * interval '1 day', 'run-' || d "
        "FROM generate_series(0, 999) AS d, generate_series(1, 1000) AS s ORDER BY d, s");
    w.exec("ANALYZE customer_metrics");
    w.commit();
  }
  warehouse->rebuild_derived();
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "generated 1,000,000 customer_metrics rows and their trend tables in " << seconds << " s\n";
}

std::string plan(const std::string& query) {
  pqxx::connection c(PgTestDatabase::instance().conninfo());
  c.set_variable("search_path", kSchema);
  pqxx::work w(c);
  std::string text;
  for (const auto& row : w.exec("EXPLAIN " + query)) text += std::string(row[0].c_str()) + "\n";
  return text;
}

const std::string kSeries =
    "project = 'my-app' AND environment = 1 AND window_name = 'all_time' AND segment = 'segment=42'";
const std::string kSeriesCond =
    "(project = 'my-app'::text) AND (environment = 1) AND (window_name = 'all_time'::text) AND "
    "(segment = 'segment=42'::text)";

bool reads_customer_metrics(const std::string& p) {
  static const std::regex table(R"(on customer_metrics( |\n))");
  return std::regex_search(p, table);
}

void expect_trend_tables_only(const std::string& p) {
  EXPECT_FALSE(reads_customer_metrics(p)) << p;
  EXPECT_EQ(p.find("Seq Scan on customer_metrics_days"), std::string::npos) << p;
}

// One test, because CTest runs each test in its own process and the table takes a while.
TEST(IndexUse, EachTrendQueryOfAMillionRowsReadsOnlyTheRowsItShowsThroughAnIndex) {
  generate_million_rows();
  {
    SCOPED_TRACE("customer_metrics, one series");
    const std::string p = plan("SELECT snapshot_at, active_subscribers FROM customer_metrics WHERE " + kSeries +
                               " AND snapshot_at BETWEEN '2023-01-01 00:00:00+00' AND '2023-03-01 00:00:00+00'");
    EXPECT_NE(p.find("customer_metrics_series_idx"), std::string::npos) << p;
    EXPECT_NE(p.find("Index Cond: (" + kSeriesCond), std::string::npos) << p;
    EXPECT_EQ(p.find("Seq Scan on customer_metrics"), std::string::npos) << p;
  }
  {
    SCOPED_TRACE("customer_metrics_daily, one series over a range of days");
    const std::string p = plan("SELECT day, active_subscribers, active_subscribers_change_1d, "
                               "active_subscribers_change_7d FROM customer_metrics_daily WHERE " +
                               kSeries + " AND day BETWEEN '2023-01-01' AND '2023-03-01'");
    expect_trend_tables_only(p);
    EXPECT_NE(p.find("Index Scan using customer_metrics_days_pkey"), std::string::npos) << p;
    EXPECT_NE(p.find("Index Cond: (" + kSeriesCond), std::string::npos) << p;
  }
  {
    SCOPED_TRACE("customer_metrics_daily, the last 90 days of every series");
    const std::string p = plan("SELECT day, sum(active_subscribers), sum(active_subscribers_change_7d) "
                               "FROM customer_metrics_daily WHERE day > '2024-07-01' GROUP BY day");
    expect_trend_tables_only(p);
    EXPECT_NE(p.find("Scan using customer_metrics_days_day_idx"), std::string::npos) << p;
  }
  {
    SCOPED_TRACE("customer_metrics_latest, every series");
    const std::string p = plan("SELECT * FROM customer_metrics_latest");
    expect_trend_tables_only(p);
    EXPECT_NE(p.find("Seq Scan on customer_metrics_newest"), std::string::npos) << p;
    EXPECT_EQ(p.find("customer_metrics_days"), std::string::npos) << p;
  }
  {
    SCOPED_TRACE("customer_metrics_latest, one series");
    const std::string p = plan("SELECT * FROM customer_metrics_latest WHERE " + kSeries);
    expect_trend_tables_only(p);
    EXPECT_NE(p.find("customer_metrics_newest_pkey"), std::string::npos) << p;
    EXPECT_EQ(p.find("Seq Scan"), std::string::npos) << p;
  }
  PgTestDatabase::instance().reset_schema(kSchema);
}

}  // namespace
}  // namespace qetl::test
