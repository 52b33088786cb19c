// Every query in sql/examples runs on both backends against the seeded history
// (trend_fixtures.hpp): both give the same rows, and those rows answer the question with the
// history's figures. A file at the top of sql/examples runs on both backends; one in postgres/
// runs on PostgreSQL and needs its namesake in sqlite/, and the other way round. The files are
// discovered, so a new example without an entry in expectations() fails until it gets one.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "warehouse/trend_fixtures.hpp"

namespace qetl::test {
namespace {

namespace fs = std::filesystem;
using namespace trend;

const fs::path kExamples = fs::path(QETL_SOURCE_DIR) / "sql" / "examples";

struct Example {
  std::string name;  // file name without .sql
  fs::path postgres;
  fs::path sqlite;
};

void PrintTo(const Example& e, std::ostream* os) { *os << e.name; }

std::set<std::string> sql_names(const fs::path& dir) {
  std::set<std::string> names;
  if (!fs::is_directory(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sql") names.insert(e.path().stem().string());
  }
  return names;
}

// Every example; a dialect file without its namesake for the other backend is listed with an
// empty path for that one (and fails).
std::vector<Example> discover() {
  std::vector<Example> out;
  for (const auto& name : sql_names(kExamples)) {
    out.push_back({name, kExamples / (name + ".sql"), kExamples / (name + ".sql")});
  }
  const auto pg = sql_names(kExamples / "postgres");
  const auto lite = sql_names(kExamples / "sqlite");
  std::set<std::string> dialect_names = pg;
  dialect_names.insert(lite.begin(), lite.end());
  for (const auto& name : dialect_names) {
    out.push_back({name, pg.count(name) ? kExamples / "postgres" / (name + ".sql") : fs::path(),
                   lite.count(name) ? kExamples / "sqlite" / (name + ".sql") : fs::path()});
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------------------------
// What each example must answer, from the seeded rows.

using DayRows = std::map<UnixSeconds, const MetricsRow*>;
using Count = std::int64_t Metrics::*;

const std::map<SeriesKey, DayRows>& history() {
  static const std::vector<MetricsRow> rows = seeded_rows();
  static const std::map<SeriesKey, DayRows> days = last_of_each_day(rows);
  return days;
}

const DayRows& series(const std::string& window_name, const std::string& kind, const std::string& segment,
                      UnixSeconds cohort = std::numeric_limits<UnixSeconds>::min()) {
  return history().at(SeriesKey{kProject, 1, window_name, kind, segment, cohort});
}
const DayRows& fixed(const std::string& segment) { return series("all_time", "fixed", segment); }

Value change(const DayRows& days, UnixSeconds day, int days_back, Count count) {
  const auto before = days.find(day - days_back * kDay);
  if (before == days.end()) return std::nullopt;
  return text_of(days.at(day)->metrics.*count - before->second->metrics.*count);
}

UnixSeconds newest_day() { return fixed("all").rbegin()->first; }

void expect_answer(const Table& got, const std::vector<std::string>& columns, const Rows& rows) {
  EXPECT_EQ(got.columns, columns);
  EXPECT_EQ(got.rows, rows);
}

void active_subscribers_over_time(const Table& got) {
  Rows want;
  const DayRows& all = fixed("all");
  for (const auto& [day, r] : all) {
    want.push_back({date_of(day), text_of(r->metrics.active_subscribers),
                    change(all, day, 1, &Metrics::active_subscribers),
                    change(all, day, 7, &Metrics::active_subscribers)});
  }
  expect_answer(got, {"day", "active_subscribers", "active_subscribers_change_1d", "active_subscribers_change_7d"},
                want);
  ASSERT_EQ(got.rows.size(), 27u);  // 29 days, two without a run
  EXPECT_EQ(got.rows.front()[0], "2024-03-01");
  EXPECT_EQ(got.rows.back()[0], "2024-03-29");
  EXPECT_EQ(got.where({{"day", "2024-03-11"}, {"active_subscribers_change_1d", std::nullopt}}).size(), 1u);
}

void active_subscribers_by_platform(const Table& got) {
  Rows want;
  for (const auto& [day, r] : fixed("all")) {
    for (const std::string platform : {"Android", "iOS"}) {
      const DayRows& days = fixed("target_platform=" + platform);
      want.push_back({date_of(day), platform, text_of(days.at(day)->metrics.active_subscribers),
                      change(days, day, 7, &Metrics::active_subscribers)});
    }
  }
  expect_answer(got, {"day", "target_platform", "active_subscribers", "active_subscribers_change_7d"}, want);
  EXPECT_EQ(got.where({{"target_platform", "iOS"}}).size(), 27u);
  EXPECT_TRUE(got.where({{"target_platform", std::nullopt}}).empty());
}

void trial_cancellation_trend(const Table& got) {
  Rows want;
  const DayRows& product = fixed("product_id=premium_monthly");
  for (const auto& [day, r] : product) {
    want.push_back({date_of(day), text_of(r->metrics.canceled_trials), text_of(r->metrics.active_trials),
                    change(product, day, 1, &Metrics::active_trials)});
  }
  expect_answer(got, {"day", "canceled_trials_percent", "active_trials", "active_trials_change_1d"}, want);
  const auto first = got.where({{"day", "2024-03-01"}});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(got.at(first[0], "canceled_trials_percent"), "41.5");  // 20.5 + (3 x 7 + 0) % 40
}

void cohort_maturing(const Table& got) {
  Rows want;
  const DayRows& cohort = series("daily_cohorts", "cohort", "all", parse_utc_timestamp("2024-03-12"));
  for (const auto& [day, r] : cohort) {
    const Metrics& m = r->metrics;
    want.push_back({date_of(day), format_sql_timestamp(r->snapshot_at), text_of(m.clients_with_event),
                    text_of(m.active_trials), text_of(m.active_subscribers),
                    change(cohort, day, 1, &Metrics::active_subscribers), text_of(m.sales)});
  }
  expect_answer(got, {"day", "snapshot_at", "clients_with_event", "active_trials", "active_subscribers",
                      "active_subscribers_change_1d", "sales"},
                want);
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_EQ(got.rows[2][1], "2024-03-15 18:00:00");  // the day's last snapshot
  EXPECT_EQ(got.rows[0][5], std::nullopt);            // its first day: nothing to compare with
}

void week_over_week_counts(const Table& got) {
  const std::vector<Count> counts = {&Metrics::clients_with_event, &Metrics::active_subscribers,
                                     &Metrics::active_trials, &Metrics::billing_retry};
  const UnixSeconds day = newest_day();
  Rows want;
  for (const auto& [key, days] : history()) {  // sorted by segment within the window
    if (std::get<1>(key) != 1 || std::get<2>(key) != "all_time" || days.count(day) == 0) continue;
    std::vector<Value> row = {std::get<4>(key), date_of(day)};
    for (const Count c : counts) {
      row.push_back(text_of(days.at(day)->metrics.*c));
      row.push_back(change(days, day, 7, c));
    }
    want.push_back(row);
  }
  expect_answer(got, {"segment", "day", "clients_with_event", "clients_with_event_change_7d", "active_subscribers",
                      "active_subscribers_change_7d", "active_trials", "active_trials_change_7d", "billing_retry",
                      "billing_retry_change_7d"},
                want);
  ASSERT_EQ(got.rows.size(), 8u);
  // GB has no row on 2024-03-22, so no week-over-week change on 2024-03-29.
  EXPECT_EQ(got.where({{"segment", "country=GB"}, {"active_subscribers_change_7d", std::nullopt}}).size(), 1u);
  EXPECT_EQ(got.where({{"active_subscribers_change_7d", std::nullopt}}).size(), 1u);
}

void latest_by_country(const Table& got) {
  std::vector<std::pair<std::int64_t, std::vector<Value>>> ranked;
  for (const std::string country : {"DE", "GB", "US"}) {
    const MetricsRow& r = *fixed("country=" + country).rbegin()->second;
    ranked.push_back({-r.metrics.active_subscribers,
                      {country, format_sql_timestamp(r.snapshot_at), text_of(r.metrics.active_subscribers),
                       text_of(r.metrics.active_trials), text_of(r.metrics.sales)}});
  }
  std::sort(ranked.begin(), ranked.end());
  Rows want;
  for (const auto& [order, row] : ranked) want.push_back(row);
  expect_answer(got, {"country", "snapshot_at", "active_subscribers", "active_trials", "sales"}, want);
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_EQ(got.rows[0][0], "US");
}

void country_sales_growth_28d(const Table& got) {
  std::vector<std::pair<std::int64_t, std::vector<Value>>> ranked;
  const UnixSeconds day = newest_day();
  for (const std::string country : {"DE", "GB", "US"}) {
    const DayRows& days = fixed("country=" + country);
    const std::string now = days.at(day)->metrics.sales, before = days.at(day - 28 * kDay)->metrics.sales;
    // Both end in ".37": the growth is the difference of the whole parts.
    const std::int64_t growth = std::stoll(now) - std::stoll(before);
    ranked.push_back({-growth, {country, text_of(now), text_of(before), text_of(growth)}});
  }
  std::sort(ranked.begin(), ranked.end());
  Rows want;
  for (const auto& [order, row] : ranked) want.push_back(row);
  expect_answer(got, {"country", "sales", "sales_28_days_before", "sales_growth"}, want);
  ASSERT_EQ(got.rows.size(), 3u);
  EXPECT_EQ(got.rows[0][0], "GB");
  EXPECT_EQ(got.rows[0][3], "8680");  // 310 a day for 28 days
  EXPECT_EQ(got.rows[1][0], "DE");
  EXPECT_EQ(got.rows[2][0], "US");
}

// Findings as the data checks would record them after the runs of the newest snapshot and of
// the one before: the example shows the newest snapshot's only, errors first.
DataCheckFinding finding(UnixSeconds snapshot, const std::string& segment, const std::string& check,
                         const std::string& severity, double observed, double expected) {
  DataCheckFinding f;
  f.run_id = "run-" + date_of(snapshot);
  f.snapshot_at = snapshot;
  f.project = kProject;
  f.window_name = "all_time";
  f.window_from = parse_utc_timestamp("2015-01-01");
  f.segment = segment;
  f.check_name = check;
  f.severity = severity;
  f.metric = "active_subscribers";
  f.observed = observed;
  f.expected = expected;
  f.message = check + " in " + segment;
  return f;
}

void record_findings(Warehouse& w) {
  const UnixSeconds newest = newest_day(), before = newest - kDay;
  w.replace_findings(before, {kProject}, "run-" + date_of(before),
                     {finding(before, "country=US", "large_change", "warning", 900, 300)});
  w.replace_findings(newest, {kProject}, "run-" + date_of(newest),
                     {finding(newest, "country=GB", "large_change", "warning", 700, 200),
                      finding(newest, "country=DE", "subset_exceeds_superset", "error", 120, 100),
                      finding(newest, "country=DE", "count_decreased", "warning", 90, 95)});
}

void data_health_newest_snapshot(const Table& got) {
  const std::string from = "2015-01-01 00:00:00";
  expect_answer(got,
                {"severity", "check_name", "project", "environment", "window_name", "window_from", "segment",
                 "metric", "observed", "expected", "message"},
                {{"error", "subset_exceeds_superset", kProject, "1", "all_time", from, "country=DE",
                  "active_subscribers", "120", "100", "subset_exceeds_superset in country=DE"},
                 {"warning", "count_decreased", kProject, "1", "all_time", from, "country=DE", "active_subscribers",
                  "90", "95", "count_decreased in country=DE"},
                 {"warning", "large_change", kProject, "1", "all_time", from, "country=GB", "active_subscribers",
                  "700", "200", "large_change in country=GB"}});
}

const std::map<std::string, std::function<void(const Table&)>>& expectations() {
  static const std::map<std::string, std::function<void(const Table&)>> all = {
      {"active_subscribers_over_time", active_subscribers_over_time},
      {"active_subscribers_by_platform", active_subscribers_by_platform},
      {"trial_cancellation_trend", trial_cancellation_trend},
      {"cohort_maturing", cohort_maturing},
      {"week_over_week_counts", week_over_week_counts},
      {"latest_by_country", latest_by_country},
      {"country_sales_growth_28d", country_sales_growth_28d},
      {"data_health_newest_snapshot", data_health_newest_snapshot},
  };
  return all;
}

// ---------------------------------------------------------------------------------------------

class ExampleQuery : public ::testing::TestWithParam<Example> {};

TEST_P(ExampleQuery, AnswersItsQuestionAlikeOnBothBackends) {
  const Example& e = GetParam();
  ASSERT_FALSE(e.postgres.empty()) << e.name << ": sql/examples/sqlite/ has it, sql/examples/postgres/ does not";
  ASSERT_FALSE(e.sqlite.empty()) << e.name << ": sql/examples/postgres/ has it, sql/examples/sqlite/ does not";
  const auto expectation = expectations().find(e.name);
  ASSERT_NE(expectation, expectations().end()) << "sql/examples/" << e.name << ".sql has no expectation in "
                                               << "tests/warehouse/examples_test.cpp";
  SqliteBackend sqlite;
  seed(*sqlite.open());
  record_findings(*sqlite.open());
  PostgresBackend pg;
  seed(*pg.open());
  record_findings(*pg.open());
  const Table lite = read_table(sqlite, read_text(e.sqlite));
  const Table pgt = read_table(pg, read_text(e.postgres));
  EXPECT_EQ(pgt.columns, lite.columns);
  EXPECT_EQ(pgt.rows, lite.rows) << "PostgreSQL and SQLite answer " << e.name << " differently";
  {
    SCOPED_TRACE("SQLite");
    expectation->second(lite);
  }
  {
    SCOPED_TRACE("PostgreSQL");
    expectation->second(pgt);
  }
}

INSTANTIATE_TEST_SUITE_P(SqlExamples, ExampleQuery, ::testing::ValuesIn(discover()),
                         [](const ::testing::TestParamInfo<Example>& info) {
                           // GoogleTest takes letters, digits and '_' only; a top-level file and a
                           // dialect pair may share a name.
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name + (info.param.postgres != info.param.sqlite ? "_dialects" : "");
                         });

TEST(ExampleFiles, EveryExpectationHasItsFileAndThereAreAtLeastSix) {
  std::set<std::string> found;
  for (const Example& e : discover()) found.insert(e.name);
  for (const auto& [name, check] : expectations()) EXPECT_EQ(found.count(name), 1u) << name << ".sql is missing";
  EXPECT_GE(found.size(), 6u);
}

TEST(ExampleFiles, EachIsOneStatementUnderAHeaderStatingItsQuestionAndParameters) {
  for (const Example& e : discover()) {
    for (const fs::path& path : {e.postgres, e.sqlite}) {
      if (path.empty()) continue;
      const std::string text = read_text(path);
      EXPECT_EQ(text.rfind("-- Question: ", 0), 0u) << path;
      EXPECT_NE(text.find("-- Parameters"), std::string::npos) << path;
      // The statement: everything outside "--" comments; one ';', at its end.
      std::istringstream lines(text);
      std::string line, sql;
      while (std::getline(lines, line)) sql += line.substr(0, line.find("--")) + "\n";
      const std::size_t semicolon = sql.find(';');
      ASSERT_NE(semicolon, std::string::npos) << path;
      EXPECT_EQ(sql.find_first_not_of(" \n", semicolon + 1), std::string::npos) << path << ": one statement only";
    }
  }
}

}  // namespace
}  // namespace qetl::test
