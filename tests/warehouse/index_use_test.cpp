// PostgreSQL plans on a million-row customer_metrics: a time range of one series is read through
// customer_metrics_series_idx, directly and through both trend views (their filters on the series
// columns are pushed below the window functions), never by scanning the whole table.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <string>

#include "common/pg_test_db.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test {
namespace {

constexpr const char* kSchema = "qetl_index_test";

// Generates the table: 1,000 series x 1,000 daily snapshots, dimensions unfiltered, figures
// moving with the day.
void generate_million_rows() {
  PgTestDatabase& db = PgTestDatabase::instance();
  db.reset_schema(kSchema);
  open_warehouse(db.uri(), kSchema)->migrate();
  const auto started = std::chrono::steady_clock::now();
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
      "FROM generate_series(0, 999) AS d, generate_series(1, 1000) AS s");
  w.exec("ANALYZE customer_metrics");
  w.commit();
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "generated 1,000,000 customer_metrics rows and analysed them in " << seconds << " s\n";
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

void expect_series_index(const std::string& p) {
  EXPECT_NE(p.find("customer_metrics_series_idx"), std::string::npos) << p;
  EXPECT_EQ(p.find("Seq Scan on customer_metrics"), std::string::npos) << p;
  // The series was found in the index, not filtered out of a wider scan.
  EXPECT_NE(p.find("Index Cond: ((project = 'my-app'::text) AND (environment = 1) AND "
                   "(window_name = 'all_time'::text) AND (segment = 'segment=42'::text)"),
            std::string::npos)
      << p;
}

// One test, because CTest runs each test in its own process and the table takes a while.
TEST(IndexUse, OneSeriesOfAMillionRowsIsReadThroughTheSeriesIndexDirectlyAndThroughTheViews) {
  generate_million_rows();
  {
    SCOPED_TRACE("customer_metrics");
    const std::string p = plan("SELECT snapshot_at, active_subscribers FROM customer_metrics WHERE " + kSeries +
                               " AND snapshot_at BETWEEN '2023-01-01 00:00:00+00' AND '2023-03-01 00:00:00+00'");
    expect_series_index(p);
    EXPECT_NE(p.find("(snapshot_at >= '2023-01-01 00:00:00+00'::timestamp with time zone)"), std::string::npos) << p;
  }
  {
    SCOPED_TRACE("customer_metrics_daily, a range of days");
    expect_series_index(plan("SELECT day, active_subscribers, active_subscribers_change_1d, "
                             "active_subscribers_change_7d FROM customer_metrics_daily WHERE " +
                             kSeries + " AND day BETWEEN '2023-01-01' AND '2023-03-01'"));
  }
  {
    SCOPED_TRACE("customer_metrics_daily, a range of snapshots");
    expect_series_index(plan("SELECT * FROM customer_metrics_daily WHERE " + kSeries +
                             " AND snapshot_at BETWEEN '2023-01-01 00:00:00+00' AND '2023-03-01 00:00:00+00'"));
  }
  {
    SCOPED_TRACE("customer_metrics_latest");
    expect_series_index(plan("SELECT * FROM customer_metrics_latest WHERE " + kSeries));
  }
  // No index on the dimensions, but the filter is pushed into the scan, so only the matching
  // rows are sorted and ranked.
  for (const char* view : {"customer_metrics_latest", "customer_metrics_daily"}) {
    const std::string p = plan(std::string("SELECT * FROM ") + view + " WHERE country = 'US'");
    const std::size_t scan = p.find("Scan on customer_metrics");
    ASSERT_NE(scan, std::string::npos) << p;
    const std::size_t next = p.find('\n', scan) + 1;
    const std::string scan_detail = p.substr(next, p.find('\n', next) - next);
    EXPECT_NE(scan_detail.find("Filter: (country = 'US'::text)"), std::string::npos)
        << view << " ranks every row before filtering:\n" << p;
  }
  PgTestDatabase::instance().reset_schema(kSchema);
}

}  // namespace
}  // namespace qetl::test
