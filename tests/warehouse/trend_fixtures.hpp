#pragma once
// The history that the trend-view, example-query and upgrade tests load into both warehouses
// (the same rows, through the Warehouse interface), what the views must answer for it (worked
// out here in C++ from the rows themselves, never with SQL), and how query results are read
// back from either backend as comparable text.
//
// The history: project my-app, 2024-03-01 .. 2024-03-29, one snapshot a day at 00:00 UTC, except
//   - no run at all on 2024-03-10 and 2024-03-20 (every change against those days is NULL),
//   - two runs on 2024-03-15, at 06:00 and 18:00 (hourly grain: the day's row is the 18:00 one),
//   - country=GB missing on 2024-03-22 (a gap in one series only),
//   - the sandbox (environment 0) loaded on even days only, and on 2024-03-29 twice with two
//     different fixed-window starts (a tie on snapshot_at, settled by the later fetched_at).
// Series: fixed window all_time (all, per platform, per country, per product), rolling window
// last_7_days (all) and cohort window daily_cohorts (all; the 3 days before each snapshot).
#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/pg_test_db.hpp"
#include "model/dimensions.hpp"
#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test::trend {

inline constexpr const char* kProject = "my-app";
inline constexpr UnixSeconds kDay = 86400;
inline const UnixSeconds kFirstDay = parse_utc_timestamp("2024-03-01");
inline constexpr int kDays = 29;  // 2024-03-01 .. 2024-03-29
inline constexpr int kCohortBuckets = 3;

// ---------------------------------------------------------------------------------------------
// The seeded rows.

struct SeriesSpec {
  int environment;
  std::string window_name;
  std::string window_kind;  // fixed | rolling | cohort
  std::string segment;
  std::vector<std::pair<std::string, std::string>> filters;  // dimension -> label
  std::int64_t sales_per_day;                                // how fast the series' sales grow
  std::vector<int> missing_days;                             // day numbers (0 = 2024-03-01) without a row
};

inline std::vector<int> odd_days() {
  std::vector<int> days;
  for (int d = 1; d < kDays; d += 2) days.push_back(d);
  return days;
}

inline const std::vector<SeriesSpec>& series_specs() {
  static const std::vector<SeriesSpec> specs = {
      {1, "all_time", "fixed", "all", {}, 900, {}},
      {1, "all_time", "fixed", "target_platform=Android", {{"target_platform", "Android"}}, 300, {}},
      {1, "all_time", "fixed", "target_platform=iOS", {{"target_platform", "iOS"}}, 600, {}},
      {1, "all_time", "fixed", "country=DE", {{"country", "DE"}}, 120, {}},
      {1, "all_time", "fixed", "country=GB", {{"country", "GB"}}, 310, {21}},
      {1, "all_time", "fixed", "country=US", {{"country", "US"}}, 75, {}},
      {1, "all_time", "fixed", "product_id=premium_annual", {{"product_id", "premium_annual"}}, 200, {}},
      {1, "all_time", "fixed", "product_id=premium_monthly", {{"product_id", "premium_monthly"}}, 400, {}},
      {1, "last_7_days", "rolling", "all", {}, 150, {}},
      {1, "daily_cohorts", "cohort", "all", {}, 50, {}},
      {0, "all_time", "fixed", "all", {}, 10, odd_days()},
  };
  return specs;
}

inline UnixSeconds day_start(int day) { return kFirstDay + day * kDay; }

// Every snapshot time, ascending.
inline std::vector<UnixSeconds> snapshots() {
  std::vector<UnixSeconds> out;
  for (int d = 0; d < kDays; ++d) {
    if (d == 9 || d == 19) continue;  // 2024-03-10, 2024-03-20: no run
    if (d == 14) {                    // 2024-03-15: hourly grain, two runs
      out.push_back(day_start(d) + 6 * 3600);
      out.push_back(day_start(d) + 18 * 3600);
    } else {
      out.push_back(day_start(d));
    }
  }
  return out;
}

inline std::string decimal(std::int64_t whole, const char* fraction) { return std::to_string(whole) + "." + fraction; }

// A fixed or rolling window's row: every figure moves with the day, the hour and the series, so
// a row taken from the wrong day or series shows.
inline MetricsRow series_row(const SeriesSpec& spec, std::int64_t s, UnixSeconds t) {
  const std::int64_t i = (t - kFirstDay) / kDay;
  const std::int64_t h = (t % kDay) / 3600;
  MetricsRow r;
  r.snapshot_at = t;
  r.project = kProject;
  r.environment = spec.environment;
  r.window_name = spec.window_name;
  r.window_kind = spec.window_kind;
  r.window_from = spec.window_kind == "rolling" ? t - 7 * kDay : parse_utc_timestamp("2015-01-01");
  r.window_to = t;
  r.segment = spec.segment;
  for (const auto& [dimension, label] : spec.filters) r.dimensions[*dimension_index(dimension)] = label;
  r.metrics.clients_with_event = 1000 * (s + 1) + 40 * i + 3 * (i % 5) + h;
  r.metrics.active_subscribers = 100 * (s + 1) + 7 * i - 2 * (i % 3) + h / 6;
  r.metrics.active_trials = 20 + s + (5 * i) % 11 + h / 6;
  r.metrics.billing_retry = s + i % 4;
  r.metrics.churned_subscribers = 10.0 + static_cast<double>(s) + 0.25 * static_cast<double>(i);
  r.metrics.canceled_trials = 20.5 + static_cast<double>((3 * s + i) % 40);
  r.metrics.avg_payment_count = decimal(1 + i % 3, std::to_string(11 + 2 * s).c_str());
  r.metrics.avg_price = decimal(4 + s, "99");
  r.metrics.sales = decimal(10000 * (s + 1) + spec.sales_per_day * i + 10 * h, "37");
  r.fetched_at = t + 60 + s;
  r.run_id = "run-" + std::to_string(t);
  return r;
}

// One cohort bucket's row: the figures grow with the cohort's age, as a cohort matures.
inline MetricsRow cohort_row(const SeriesSpec& spec, std::int64_t s, UnixSeconds t, UnixSeconds bucket) {
  MetricsRow r = series_row(spec, s, t);
  const std::int64_t c = (bucket - kFirstDay) / kDay + 10;  // > 0 for every bucket seeded
  const std::int64_t age_hours = (t - bucket) / 3600;
  r.window_from = bucket;
  r.window_to = bucket + kDay;
  r.metrics.clients_with_event = 500 + 11 * c + age_hours / 6;
  r.metrics.active_subscribers = 40 + c + age_hours / 12;
  r.metrics.active_trials = 90 + c % 5 - age_hours / 8;
  r.metrics.billing_retry = age_hours / 24;
  r.metrics.churned_subscribers = 1.5 + 0.25 * static_cast<double>(age_hours / 24);
  r.metrics.canceled_trials = 5.0 + 0.5 * static_cast<double>(age_hours / 24);
  r.metrics.sales = decimal(1000 + spec.sales_per_day * (age_hours / 24) + 7 * c, "37");
  return r;
}

// The sandbox's fixed window re-loaded at the last snapshot with another start, fetched later.
inline MetricsRow tie_row() {
  const std::vector<SeriesSpec>& specs = series_specs();
  const std::int64_t s = static_cast<std::int64_t>(specs.size()) - 1;
  MetricsRow r = series_row(specs.back(), s, day_start(kDays - 1));
  r.window_from = parse_utc_timestamp("2020-01-01");
  r.fetched_at += 600;
  r.metrics.active_subscribers += 5;
  r.metrics.clients_with_event += 50;
  r.run_id += "-again";
  return r;
}

inline std::vector<MetricsRow> seeded_rows() {
  std::vector<MetricsRow> rows;
  const std::vector<SeriesSpec>& specs = series_specs();
  for (const UnixSeconds t : snapshots()) {
    const int day = static_cast<int>((t - kFirstDay) / kDay);
    for (std::size_t s = 0; s < specs.size(); ++s) {
      const SeriesSpec& spec = specs[s];
      if (std::count(spec.missing_days.begin(), spec.missing_days.end(), day) != 0) continue;
      if (spec.window_kind == "cohort") {
        for (int k = kCohortBuckets; k >= 1; --k) {
          rows.push_back(cohort_row(spec, static_cast<std::int64_t>(s), t, day_start(day) - k * kDay));
        }
      } else {
        rows.push_back(series_row(spec, static_cast<std::int64_t>(s), t));
      }
    }
  }
  rows.push_back(tie_row());
  return rows;
}

// The etl_runs row of the run that loads `run_id`'s rows of snapshot `t`, as the job records it.
inline RunRecord fixture_run(const std::string& run_id, UnixSeconds t) {
  RunRecord run;
  run.run_id = run_id;
  run.started_at = t + 30;
  run.snapshot_at = t;
  run.version = "test";
  run.config_sha256 = std::string(64, 'a');
  run.host = "etl-test";
  return run;
}

// Loads rows as the job does: the rows of each snapshot and run_id by one run (start_run, one
// batch, finish_run), in snapshot order. The trend tables take a snapshot's rows when its run ends.
inline void load_as_runs(Warehouse& w, const std::vector<MetricsRow>& rows) {
  std::map<std::pair<UnixSeconds, std::string>, std::vector<MetricsRow>> batches;
  for (const MetricsRow& r : rows) batches[{r.snapshot_at, r.run_id}].push_back(r);
  for (const auto& [key, batch] : batches) {
    RunRecord run = fixture_run(key.second, key.first);
    w.start_run(run);
    run.rows_upserted = static_cast<std::int64_t>(w.upsert_metrics(batch).rows_written);
    run.status = "succeeded";
    run.finished_at = run.started_at + 60;
    w.finish_run(run);
  }
}

// Loads rows as release 0.2.0 did, one batch per snapshot and no etl_runs row: the only way
// onto a schema older than this binary's etl_runs, and what a DBA's INSERT amounts to.
inline void load_as_batches(Warehouse& w, const std::vector<MetricsRow>& rows) {
  std::map<UnixSeconds, std::vector<MetricsRow>> batches;
  for (const MetricsRow& r : rows) batches[r.snapshot_at].push_back(r);
  for (const auto& [t, batch] : batches) w.upsert_metrics(batch);
}

// Migrates and loads the history, as the job would: one run (and batch) per snapshot, and a second
// run for the sandbox snapshot loaded twice.
inline void seed(Warehouse& w) {
  w.migrate();
  load_as_runs(w, seeded_rows());
}

// ---------------------------------------------------------------------------------------------
// Reading results as comparable text.

// Text both backends agree on: PostgreSQL's timestamptz "… 00:00:00+00" (the session runs in UTC)
// loses its "+00"; a number is written with 10 significant digits, so numeric "100.00",
// "100.0" from SQLite's REAL and the double 100.0000000000009 all read "100".
inline Value normalised(const Value& v) {
  if (!v) return v;
  static const std::regex pg_timestamp(R"((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\+00)");
  static const std::regex number(R"(-?\d+(\.\d+)?([eE][-+]?\d+)?)");
  std::smatch m;
  if (std::regex_match(*v, m, pg_timestamp)) return m[1].str();
  if (std::regex_match(*v, number)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", std::stod(*v));
    return std::string(buf);
  }
  return v;
}

inline Value text_of(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return normalised(std::string(buf));
}
inline Value text_of(std::int64_t n) { return normalised(std::to_string(n)); }
inline Value text_of(const std::string& decimal_text) { return normalised(decimal_text); }
inline Value text_of(const std::optional<std::int64_t>& n) {
  return n ? text_of(*n) : Value();
}
inline std::string date_of(UnixSeconds t) { return format_sql_timestamp(t).substr(0, 10); }

struct Table {
  std::vector<std::string> columns;
  Rows rows;

  std::size_t column(const std::string& name) const {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) throw std::out_of_range("no column " + name);
    return static_cast<std::size_t>(it - columns.begin());
  }
  const Value& at(std::size_t row, const std::string& name) const { return rows.at(row).at(column(name)); }
  // The rows whose named columns hold exactly the given values (nullopt = NULL).
  std::vector<std::size_t> where(const std::vector<std::pair<std::string, Value>>& match) const {
    std::vector<std::size_t> found;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      bool all = true;
      for (const auto& [name, value] : match) all = all && rows[r][column(name)] == value;
      if (all) found.push_back(r);
    }
    return found;
  }
};

inline Table read_table(const SqliteBackend& b, const std::string& sql) {
  SQLite::Database db(b.path(), SQLite::OPEN_READONLY);
  SQLite::Statement s(db, sql);
  Table t;
  for (int i = 0; i < s.getColumnCount(); ++i) t.columns.emplace_back(s.getColumnName(i));
  while (s.executeStep()) {
    std::vector<Value> row;
    for (int i = 0; i < s.getColumnCount(); ++i) {
      const SQLite::Column c = s.getColumn(i);
      row.push_back(normalised(c.isNull() ? Value() : Value(c.getString())));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

inline Table read_table(const PostgresBackend&, const std::string& sql) {
  pqxx::connection c(PgTestDatabase::instance().conninfo());
  c.set_variable("search_path", kTestSchema);
  c.set_variable("TimeZone", "'UTC'");
  pqxx::work w(c);
  const pqxx::result r = w.exec(sql);
  Table t;
  for (pqxx::row::size_type i = 0; i < r.columns(); ++i) t.columns.emplace_back(r.column_name(i));
  for (const auto& tuple : r) {
    std::vector<Value> row;
    for (const auto& f : tuple) row.push_back(normalised(f.is_null() ? Value() : Value(f.c_str())));
    t.rows.push_back(std::move(row));
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// What the views must hold, from the rows.

inline const std::vector<std::string>& dimension_columns() {
  static const std::vector<std::string> columns(kDimensions.begin(), kDimensions.end());
  return columns;
}

inline std::vector<std::string> with_dimensions(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), dimension_columns().begin(), dimension_columns().end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

inline const std::vector<std::string>& metric_columns() {
  static const std::vector<std::string> columns = {
      "clients_with_event", "active_subscribers", "active_trials",   "billing_retry", "churned_subscribers",
      "canceled_trials",    "avg_payment_count",  "avg_price",       "sales"};
  return columns;
}
inline const std::vector<std::string>& count_columns() {
  static const std::vector<std::string> columns = {"clients_with_event", "active_subscribers", "active_trials",
                                                   "billing_retry"};
  return columns;
}

inline std::vector<std::string> change_columns() {
  std::vector<std::string> c;
  for (const auto& count : count_columns()) {
    c.push_back(count + "_change_1d");
    c.push_back(count + "_change_7d");
  }
  return c;
}

// Column order of the views, written out here so that a view missing or misplacing one fails.
inline const std::vector<std::string>& latest_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> tail = metric_columns();
    tail.push_back("fetched_at");
    tail.push_back("run_id");
    return with_dimensions({"snapshot_at", "project", "environment", "window_name", "window_kind", "window_from",
                            "window_to", "cohort_date", "segment"},
                           tail);
  }();
  return columns;
}
inline const std::vector<std::string>& daily_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> tail = metric_columns();
    for (const auto& c : change_columns()) tail.push_back(c);
    return with_dimensions({"day", "snapshot_at", "project", "environment", "window_name", "window_kind",
                            "window_from", "window_to", "cohort_date", "segment"},
                           tail);
  }();
  return columns;
}

inline std::string select_all(const std::vector<std::string>& columns, const std::string& view) {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + columns[i];
  return sql + " FROM " + view;
}

// A series: environment, window, kind, segment, and the cohort's start (or none).
using SeriesKey = std::tuple<std::string, int, std::string, std::string, std::string, UnixSeconds>;
inline SeriesKey series_of(const MetricsRow& r) {
  return {r.project, r.environment, r.window_name, r.window_kind, r.segment,
          r.window_kind == "cohort" ? r.window_from : std::numeric_limits<UnixSeconds>::min()};
}
// Of two rows of one series, the one the views keep.
inline bool newer(const MetricsRow& a, const MetricsRow& b) {
  return std::tie(a.snapshot_at, a.fetched_at, a.window_from) > std::tie(b.snapshot_at, b.fetched_at, b.window_from);
}

inline std::vector<Value> row_head(const MetricsRow& r) {
  std::vector<Value> v = {format_sql_timestamp(r.snapshot_at), r.project, text_of(std::int64_t{r.environment}),
                          r.window_name, r.window_kind, format_sql_timestamp(r.window_from),
                          format_sql_timestamp(r.window_to)};
  v.push_back(r.window_kind == "cohort" ? Value(date_of(r.window_from)) : Value());
  v.push_back(r.segment);
  for (const auto& d : r.dimensions) v.push_back(d);
  const Metrics& m = r.metrics;
  for (const std::int64_t n : {m.clients_with_event, m.active_subscribers, m.active_trials, m.billing_retry}) {
    v.push_back(text_of(n));
  }
  v.push_back(text_of(m.churned_subscribers));
  v.push_back(text_of(m.canceled_trials));
  for (const auto& d : {m.avg_payment_count, m.avg_price, m.sales}) v.push_back(text_of(d));
  return v;
}

inline Rows expected_latest(const std::vector<MetricsRow>& rows) {
  std::map<SeriesKey, const MetricsRow*> newest;
  for (const MetricsRow& r : rows) {
    const MetricsRow*& slot = newest[series_of(r)];
    if (slot == nullptr || newer(r, *slot)) slot = &r;
  }
  Rows out;
  for (const auto& [key, r] : newest) {
    std::vector<Value> v = row_head(*r);
    v.push_back(format_sql_timestamp(r->fetched_at));
    v.push_back(r->run_id);
    out.push_back(std::move(v));
  }
  return out;
}

// series -> UTC day start -> that day's row.
inline std::map<SeriesKey, std::map<UnixSeconds, const MetricsRow*>> last_of_each_day(
    const std::vector<MetricsRow>& rows) {
  std::map<SeriesKey, std::map<UnixSeconds, const MetricsRow*>> days;
  for (const MetricsRow& r : rows) {
    const MetricsRow*& slot = days[series_of(r)][floor_to_day(r.snapshot_at)];
    if (slot == nullptr || newer(r, *slot)) slot = &r;
  }
  return days;
}

inline std::int64_t count_metric(const Metrics& m, std::size_t index) {
  const std::int64_t counts[] = {m.clients_with_event, m.active_subscribers, m.active_trials, m.billing_retry};
  return counts[index];
}

inline Rows expected_daily(const std::vector<MetricsRow>& rows) {
  Rows out;
  for (const auto& [key, by_day] : last_of_each_day(rows)) {
    for (const auto& [day, r] : by_day) {
      std::vector<Value> v = {date_of(day)};
      const std::vector<Value> head = row_head(*r);
      v.insert(v.end(), head.begin(), head.end());
      const auto before = [&](UnixSeconds days_back) -> const MetricsRow* {
        const auto it = by_day.find(day - days_back * kDay);
        return it == by_day.end() ? nullptr : it->second;
      };
      for (std::size_t c = 0; c < count_columns().size(); ++c) {
        for (const UnixSeconds back : {1, 7}) {
          const MetricsRow* p = before(back);
          v.push_back(p == nullptr ? Value() : text_of(count_metric(r->metrics, c) - count_metric(p->metrics, c)));
        }
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

// The views as version 3 (release 0.2.0) defined them, straight over customer_metrics: the
// definition the trend tables must keep to. `view` is customer_metrics_latest or
// customer_metrics_daily; the answer is its SELECT, to be used as a subquery.
inline std::string version3_view_query(const std::string& backend_folder, const std::string& view) {
  std::ifstream in(std::string(QETL_SOURCE_DIR) + "/sql/" + backend_folder + "/003_trend_views.sql");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string sql = text.str();
  const std::string head = "CREATE VIEW " + view + " AS\n";
  const std::size_t start = sql.find(head);
  if (start == std::string::npos) throw std::runtime_error("no " + view + " in 003_trend_views.sql");
  const std::size_t body = start + head.size();
  return sql.substr(body, sql.find(";\n", body) - body);
}
inline std::string version3_view_query(const SqliteBackend&, const std::string& view) {
  return version3_view_query("sqlite", view);
}
inline std::string version3_view_query(const PostgresBackend&, const std::string& view) {
  return version3_view_query("postgres", view);
}

inline Rows sorted(Rows rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace qetl::test::trend
