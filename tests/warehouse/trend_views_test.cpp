// customer_metrics_latest and customer_metrics_daily (migration 3): the same history loaded into
// SQLite and PostgreSQL gives the same rows on both, and those rows are what the history says
// (worked out in trend_fixtures.hpp without SQL), checked as a whole and at the days that matter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "warehouse/trend_fixtures.hpp"

namespace qetl::test {
namespace {

using namespace trend;

class TrendViews : public ::testing::Test {
 protected:
  void SetUp() override {
    seed(*sqlite.open());
    seed(*pg.open());
  }

  // The view read from both backends; fails the test unless both hold the same rows.
  Table both(const std::vector<std::string>& columns, const std::string& view) {
    const std::string sql = select_all(columns, view);
    Table lite = read_table(sqlite, sql);
    const Table pgt = read_table(pg, sql);
    EXPECT_EQ(lite.columns, columns);
    EXPECT_EQ(pgt.columns, columns);
    EXPECT_EQ(sorted(lite.rows), sorted(pgt.rows)) << view << " differs between SQLite and PostgreSQL";
    return lite;
  }
  Table daily() { return both(daily_columns(), "customer_metrics_daily"); }
  Table latest() { return both(latest_columns(), "customer_metrics_latest"); }

  SqliteBackend sqlite;
  PostgresBackend pg;
};

// The one row of a fixed-window series of environment 1 on `day` in `t` (fails when not exactly one).
std::size_t fixed_row(const Table& t, const std::string& segment, const std::string& day) {
  const auto found = t.where({{"environment", "1"}, {"window_name", "all_time"}, {"segment", segment}, {"day", day}});
  EXPECT_EQ(found.size(), 1u) << segment << " on " << day;
  return found.empty() ? 0 : found.front();
}

TEST_F(TrendViews, DailyHoldsOneRowPerDayAndSeriesAsTheHistorySays) {
  const Table t = daily();
  const Rows want = sorted(expected_daily(seeded_rows()));
  EXPECT_EQ(sorted(t.rows), want);
  // 27 days with a run: 8 fixed series of production (GB lacks a day), the rolling window and
  // 3 cohort buckets on each; the sandbox on 15 even days.
  EXPECT_EQ(want.size(), 8u * 27 - 1 + 27 + 3u * 27 + 15);
}

TEST_F(TrendViews, LatestHoldsTheNewestRowOfEverySeries) {
  const Table t = latest();
  EXPECT_EQ(sorted(t.rows), sorted(expected_latest(seeded_rows())));
  // 8 fixed + 1 rolling + 1 sandbox series, and each cohort bucket ever loaded (02-27 .. 03-28).
  EXPECT_EQ(t.rows.size(), 10u + 31u);
  const auto all = t.where({{"environment", "1"}, {"window_name", "all_time"}, {"segment", "all"}});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(t.at(all[0], "snapshot_at"), "2024-03-29 00:00:00");
  // An old cohort keeps its own newest row: 2024-03-01 was last loaded by the 03-04 snapshot.
  const auto cohort = t.where({{"window_name", "daily_cohorts"}, {"cohort_date", "2024-03-01"}});
  ASSERT_EQ(cohort.size(), 1u);
  EXPECT_EQ(t.at(cohort[0], "snapshot_at"), "2024-03-04 00:00:00");
  EXPECT_EQ(t.at(cohort[0], "window_from"), "2024-03-01 00:00:00");
}

TEST_F(TrendViews, ASnapshotTieGoesToTheLaterFetch) {
  // The sandbox's 2024-03-29 snapshot was loaded twice with different fixed-window starts.
  const MetricsRow again = tie_row();
  for (const Table& t : {latest(), daily()}) {
    const auto sandbox = t.where({{"environment", "0"}, {"snapshot_at", "2024-03-29 00:00:00"}});
    ASSERT_EQ(sandbox.size(), 1u);
    EXPECT_EQ(t.at(sandbox[0], "window_from"), "2020-01-01 00:00:00");
    EXPECT_EQ(t.at(sandbox[0], "active_subscribers"), text_of(again.metrics.active_subscribers));
  }
}

TEST_F(TrendViews, TheDaysLastSnapshotIsUsed) {
  const Table t = daily();
  const std::size_t r = fixed_row(t, "all", "2024-03-15");
  EXPECT_EQ(t.at(r, "snapshot_at"), "2024-03-15 18:00:00");
  const MetricsRow evening = series_row(series_specs()[0], 0, parse_utc_timestamp("2024-03-15T18:00"));
  const MetricsRow morning = series_row(series_specs()[0], 0, parse_utc_timestamp("2024-03-15T06:00"));
  ASSERT_NE(evening.metrics.clients_with_event, morning.metrics.clients_with_event);
  EXPECT_EQ(t.at(r, "clients_with_event"), text_of(evening.metrics.clients_with_event));
  EXPECT_EQ(t.at(r, "sales"), text_of(evening.metrics.sales));
  // The next day's change is taken against the evening row too.
  const std::size_t next = fixed_row(t, "all", "2024-03-16");
  const MetricsRow sixteenth = series_row(series_specs()[0], 0, parse_utc_timestamp("2024-03-16"));
  EXPECT_EQ(t.at(next, "clients_with_event_change_1d"),
            text_of(sixteenth.metrics.clients_with_event - evening.metrics.clients_with_event));
  // And a cohort bucket loaded twice that day keeps its evening figures.
  const auto cohort = t.where({{"window_name", "daily_cohorts"}, {"cohort_date", "2024-03-12"}, {"day", "2024-03-15"}});
  ASSERT_EQ(cohort.size(), 1u);
  EXPECT_EQ(t.at(cohort[0], "snapshot_at"), "2024-03-15 18:00:00");
}

TEST_F(TrendViews, ChangesAreAgainstExactlyOneAndSevenDaysBefore) {
  const Table t = daily();
  const auto value = [&](const std::string& day) {
    return series_row(series_specs()[2], 2, parse_utc_timestamp(day)).metrics.active_subscribers;
  };
  const std::size_t r = fixed_row(t, "target_platform=iOS", "2024-03-09");
  EXPECT_EQ(t.at(r, "active_subscribers"), text_of(value("2024-03-09")));
  EXPECT_EQ(t.at(r, "active_subscribers_change_1d"), text_of(value("2024-03-09") - value("2024-03-08")));
  EXPECT_EQ(t.at(r, "active_subscribers_change_7d"), text_of(value("2024-03-09") - value("2024-03-02")));
  // Both changes of every count metric, on a day with both neighbours.
  const MetricsRow today = series_row(series_specs()[2], 2, parse_utc_timestamp("2024-03-26"));
  const MetricsRow yesterday = series_row(series_specs()[2], 2, parse_utc_timestamp("2024-03-25"));
  const MetricsRow week_ago = series_row(series_specs()[2], 2, parse_utc_timestamp("2024-03-19"));
  const std::size_t d = fixed_row(t, "target_platform=iOS", "2024-03-26");
  for (std::size_t c = 0; c < count_columns().size(); ++c) {
    const std::string& name = count_columns()[c];
    EXPECT_EQ(t.at(d, name + "_change_1d"),
              text_of(count_metric(today.metrics, c) - count_metric(yesterday.metrics, c)))
        << name;
    EXPECT_EQ(t.at(d, name + "_change_7d"),
              text_of(count_metric(today.metrics, c) - count_metric(week_ago.metrics, c)))
        << name;
  }
}

TEST_F(TrendViews, ChangesAreNullWhenThatDayHasNoRow) {
  const Table t = daily();
  // No run on 2024-03-10: the day after has no 1-day change, the week after no 7-day change.
  const std::size_t after_gap = fixed_row(t, "all", "2024-03-11");
  EXPECT_EQ(t.at(after_gap, "active_subscribers_change_1d"), std::nullopt);
  EXPECT_NE(t.at(after_gap, "active_subscribers_change_7d"), std::nullopt);
  const std::size_t week_after = fixed_row(t, "all", "2024-03-17");
  EXPECT_NE(t.at(week_after, "active_subscribers_change_1d"), std::nullopt);
  EXPECT_EQ(t.at(week_after, "active_subscribers_change_7d"), std::nullopt);
  // The first week has nothing seven days before.
  EXPECT_EQ(t.at(fixed_row(t, "all", "2024-03-07"), "billing_retry_change_7d"), std::nullopt);
  EXPECT_NE(t.at(fixed_row(t, "all", "2024-03-08"), "billing_retry_change_7d"), std::nullopt);
  // GB alone lacks 2024-03-22; its neighbours' changes are NULL, other countries' are not.
  EXPECT_TRUE(t.where({{"segment", "country=GB"}, {"day", "2024-03-22"}}).empty());
  EXPECT_EQ(t.at(fixed_row(t, "country=GB", "2024-03-23"), "clients_with_event_change_1d"), std::nullopt);
  EXPECT_EQ(t.at(fixed_row(t, "country=GB", "2024-03-29"), "clients_with_event_change_7d"), std::nullopt);
  EXPECT_NE(t.at(fixed_row(t, "country=US", "2024-03-23"), "clients_with_event_change_1d"), std::nullopt);
  // The sandbox runs every other day: never a row the day before, nor an odd number of days before.
  for (const std::size_t r : t.where({{"environment", "0"}})) {
    EXPECT_EQ(t.at(r, "active_trials_change_1d"), std::nullopt);
    EXPECT_EQ(t.at(r, "active_trials_change_7d"), std::nullopt);
  }
}

TEST_F(TrendViews, EachCohortIsItsOwnSeries) {
  const Table t = daily();
  // The 2024-03-12 bucket was loaded on 03-13, 03-14 and (twice) 03-15.
  const auto rows = t.where({{"window_name", "daily_cohorts"}, {"cohort_date", "2024-03-12"}});
  ASSERT_EQ(rows.size(), 3u);
  const UnixSeconds bucket = parse_utc_timestamp("2024-03-12");
  const SeriesSpec& spec = series_specs()[9];
  const MetricsRow d13 = cohort_row(spec, 9, parse_utc_timestamp("2024-03-13"), bucket);
  const MetricsRow d14 = cohort_row(spec, 9, parse_utc_timestamp("2024-03-14"), bucket);
  const MetricsRow d15 = cohort_row(spec, 9, parse_utc_timestamp("2024-03-15T18:00"), bucket);
  const auto on = [&](const std::string& day) {
    const auto r = t.where({{"window_name", "daily_cohorts"}, {"cohort_date", "2024-03-12"}, {"day", day}});
    EXPECT_EQ(r.size(), 1u) << day;
    return r.empty() ? 0 : r.front();
  };
  // Its first day has no change, although other buckets of the window have a row the day before.
  EXPECT_EQ(t.at(on("2024-03-13"), "active_subscribers_change_1d"), std::nullopt);
  EXPECT_EQ(t.at(on("2024-03-14"), "active_subscribers_change_1d"),
            text_of(d14.metrics.active_subscribers - d13.metrics.active_subscribers));
  EXPECT_EQ(t.at(on("2024-03-15"), "clients_with_event_change_1d"),
            text_of(d15.metrics.clients_with_event - d14.metrics.clients_with_event));
  EXPECT_EQ(t.at(on("2024-03-15"), "window_from"), "2024-03-12 00:00:00");
  EXPECT_EQ(t.at(on("2024-03-15"), "window_to"), "2024-03-13 00:00:00");
  EXPECT_EQ(t.at(on("2024-03-15"), "window_kind"), "cohort");
  // Fixed and rolling windows have no cohort_date.
  EXPECT_EQ(t.at(fixed_row(t, "all", "2024-03-15"), "cohort_date"), std::nullopt);
}

TEST_F(TrendViews, ARollingWindowIsOneSeriesAlthoughItsStartMoves) {
  const Table t = daily();
  const auto rows = t.where({{"window_name", "last_7_days"}, {"day", "2024-03-05"}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(t.at(rows[0], "window_from"), "2024-02-27 00:00:00");
  const SeriesSpec& spec = series_specs()[8];
  const MetricsRow today = series_row(spec, 8, parse_utc_timestamp("2024-03-05"));
  const MetricsRow yesterday = series_row(spec, 8, parse_utc_timestamp("2024-03-04"));
  EXPECT_EQ(t.at(rows[0], "active_trials_change_1d"),
            text_of(today.metrics.active_trials - yesterday.metrics.active_trials));
  EXPECT_EQ(t.where({{"window_name", "last_7_days"}}).size(), 27u);
}

TEST_F(TrendViews, DayIsADateOnPostgresAndIsoTextOnSqlite) {
  const Table lite = read_table(sqlite, "SELECT DISTINCT typeof(day), length(day), typeof(cohort_date) "
                                        "FROM customer_metrics_daily WHERE cohort_date IS NOT NULL");
  ASSERT_EQ(lite.rows.size(), 1u);
  EXPECT_EQ(lite.rows[0], (std::vector<Value>{"text", "10", "text"}));
  const Table pgt = read_table(pg, "SELECT DISTINCT pg_typeof(day)::text, pg_typeof(cohort_date)::text, "
                                   "pg_typeof(active_subscribers_change_1d)::text FROM customer_metrics_daily");
  ASSERT_EQ(pgt.rows.size(), 1u);
  EXPECT_EQ(pgt.rows[0], (std::vector<Value>{"date", "date", "bigint"}));
}

TEST_F(TrendViews, ADaysRowsAreUtcWhateverThePostgresSessionTimeZone) {
  pqxx::connection c(PgTestDatabase::instance().conninfo());
  c.set_variable("search_path", kTestSchema);
  c.set_variable("TimeZone", "'Pacific/Kiritimati'");  // UTC+14: every snapshot is "tomorrow" there
  pqxx::work w(c);
  const pqxx::result r = w.exec(
      "SELECT day::text, count(*) FROM customer_metrics_daily WHERE environment = 1 AND window_name = 'all_time' "
      "AND segment = 'all' AND day BETWEEN '2024-03-14' AND '2024-03-16' GROUP BY day ORDER BY day");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_STREQ(r[0][0].c_str(), "2024-03-14");
  EXPECT_STREQ(r[1][0].c_str(), "2024-03-15");
  EXPECT_STREQ(r[2][0].c_str(), "2024-03-16");
}

TEST_F(TrendViews, PostgresCommentsEveryViewAndViewColumn) {
  const Table views = read_table(
      pg, "SELECT c.relname, COALESCE(obj_description(c.oid, 'pg_class'), '') FROM pg_class c "
          "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'v' "
          "ORDER BY c.relname");
  ASSERT_EQ(views.rows.size(), 2u);
  EXPECT_EQ(views.rows[0][0], "customer_metrics_daily");
  EXPECT_EQ(views.rows[1][0], "customer_metrics_latest");
  for (const auto& v : views.rows) EXPECT_GT(v[1]->size(), 40u) << "view " << *v[0] << " has no useful comment";
  const Table columns = read_table(
      pg, "SELECT c.relname || '.' || a.attname, COALESCE(col_description(c.oid, a.attnum), '') "
          "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE n.nspname = current_schema() AND c.relkind = 'v' AND a.attnum > 0 AND NOT a.attisdropped");
  EXPECT_EQ(columns.rows.size(), latest_columns().size() + daily_columns().size());
  for (const auto& c : columns.rows) EXPECT_GT(c[1]->size(), 10u) << "column " << *c[0] << " has no useful comment";
}

TEST_F(TrendViews, BothBackendsNameTheViewColumnsAlike) {
  const std::vector<std::pair<std::string, const std::vector<std::string>*>> views = {
      {"customer_metrics_latest", &latest_columns()}, {"customer_metrics_daily", &daily_columns()}};
  for (const auto& [view, want] : views) {
    std::vector<std::string> lite;
    for (const auto& row : read_table(sqlite, "SELECT name FROM pragma_table_info('" + view + "') ORDER BY cid").rows) {
      lite.push_back(*row[0]);
    }
    std::vector<std::string> pgcols;
    for (const auto& row : read_table(pg, "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                          "current_schema() AND table_name = '" + view + "' ORDER BY ordinal_position")
                               .rows) {
      pgcols.push_back(*row[0]);
    }
    EXPECT_EQ(lite, *want) << view;
    EXPECT_EQ(pgcols, *want) << view;
  }
}

}  // namespace
}  // namespace qetl::test
