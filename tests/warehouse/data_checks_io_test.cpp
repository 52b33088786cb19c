// What the data checks read and write (SPEC "Data checks"), alike on both warehouses: the rows of
// one snapshot, the previous row of each of their series, and the findings of a snapshot.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"

namespace qetl::test {
namespace {

constexpr UnixSeconds kDay = 86400;
const UnixSeconds kD1 = parse_utc_timestamp("2024-03-01");
const UnixSeconds kD2 = kD1 + kDay, kD3 = kD1 + 2 * kDay, kD4 = kD1 + 3 * kDay, kD5 = kD1 + 4 * kDay,
                  kD6 = kD1 + 5 * kDay;

MetricsRow cell(const std::string& project, const std::string& window, const std::string& kind, UnixSeconds snapshot,
                UnixSeconds from, const std::string& segment, std::int64_t clients) {
  MetricsRow r;
  r.snapshot_at = snapshot;
  r.project = project;
  r.window_name = window;
  r.window_kind = kind;
  r.window_from = from;
  r.window_to = kind == "cohort" ? from + kDay : snapshot;
  r.segment = segment;
  if (segment != "all") r.dimensions[*dimension_index("country")] = segment.substr(segment.find('=') + 1);
  r.metrics = {clients, clients / 2, 3, 1, 12.5, 0.25, "1.5", "9.99", std::to_string(clients) + ".5"};
  r.fetched_at = snapshot + 90;
  r.run_id = "run-" + format_sql_timestamp(snapshot).substr(0, 10);
  return r;
}

MetricsRow fixed(const std::string& project, UnixSeconds snapshot, const std::string& segment, std::int64_t clients) {
  return cell(project, "all_time", "fixed", snapshot, parse_utc_timestamp("2015-01-01"), segment, clients);
}
MetricsRow rolling(UnixSeconds snapshot, std::int64_t clients) {
  return cell("alpha", "last_7_days", "rolling", snapshot, snapshot - 7 * kDay, "all", clients);
}
MetricsRow cohort(UnixSeconds snapshot, UnixSeconds bucket, std::int64_t clients) {
  return cell("alpha", "daily_cohorts", "cohort", snapshot, bucket, "all", clients);
}

// A history with gaps, cohorts, rolling windows, another project and a later snapshot.
std::vector<MetricsRow> history() {
  return {
      fixed("alpha", kD1, "all", 100),         fixed("alpha", kD2, "all", 110),
      fixed("alpha", kD4, "all", 140),         fixed("alpha", kD5, "all", 150),
      fixed("alpha", kD6, "all", 160),  // after the snapshot checked: never "previous"
      fixed("alpha", kD2, "country=US", 20),   fixed("alpha", kD5, "country=US", 25),
      fixed("alpha", kD5, "country=GB", 5),  // first appearance: no previous row
      rolling(kD3, 70),                        rolling(kD5, 75),
      cohort(kD3, kD2, 30),                    cohort(kD4, kD2, 31),  cohort(kD4, kD3, 40),
      cohort(kD5, kD3, 41),                    cohort(kD5, kD4, 50),  // a new bucket
      fixed("beta", kD4, "all", 900),          fixed("beta", kD5, "all", 901),
  };
}

using Key = std::tuple<std::string, std::string, UnixSeconds, std::string, UnixSeconds>;
Key key_of(const MetricsRow& r) { return {r.project, r.window_name, r.window_from, r.segment, r.snapshot_at}; }

// Every field of a row read back, the decimals as numbers (SQLite keeps them as REAL).
void expect_same_row(const MetricsRow& got, const MetricsRow& want) {
  EXPECT_EQ(key_of(got), key_of(want));
  EXPECT_EQ(got.environment, want.environment);
  EXPECT_EQ(got.window_kind, want.window_kind);
  EXPECT_EQ(got.window_to, want.window_to);
  EXPECT_EQ(got.dimensions, want.dimensions);
  EXPECT_EQ(got.metrics.clients_with_event, want.metrics.clients_with_event);
  EXPECT_EQ(got.metrics.active_subscribers, want.metrics.active_subscribers);
  EXPECT_EQ(got.metrics.active_trials, want.metrics.active_trials);
  EXPECT_EQ(got.metrics.billing_retry, want.metrics.billing_retry);
  EXPECT_EQ(got.metrics.churned_subscribers, want.metrics.churned_subscribers);
  EXPECT_EQ(got.metrics.canceled_trials, want.metrics.canceled_trials);
  EXPECT_EQ(std::stod(got.metrics.avg_payment_count), std::stod(want.metrics.avg_payment_count));
  EXPECT_EQ(std::stod(got.metrics.avg_price), std::stod(want.metrics.avg_price));
  EXPECT_EQ(std::stod(got.metrics.sales), std::stod(want.metrics.sales));
  EXPECT_EQ(got.fetched_at, want.fetched_at);
  EXPECT_EQ(got.run_id, want.run_id);
}

DataCheckFinding finding(const std::string& project, UnixSeconds snapshot, const std::string& check,
                         const std::string& run_id = "run-check") {
  DataCheckFinding f;
  f.run_id = run_id;
  f.snapshot_at = snapshot;
  f.project = project;
  f.window_name = "all_time";
  f.window_from = parse_utc_timestamp("2015-01-01");
  f.segment = "country=US";
  f.check_name = check;
  f.severity = check == "subset_exceeds_superset" ? "error" : "warning";
  f.metric = "clients_with_event";
  f.observed = 25;
  f.expected = 20.5;
  f.message = "clients_with_event 25 > 20.5 of segment all";
  return f;
}

template <class Backend>
class DataChecksIoTest : public ::testing::Test {
 protected:
  std::unique_ptr<Warehouse> loaded() {
    auto w = backend.open();
    w->migrate();
    const UpsertResult r = w->upsert_metrics(history());
    EXPECT_EQ(r.rows_written, history().size());
    return w;
  }
  static std::map<Key, MetricsRow> collect(const std::function<void(const std::function<void(const MetricsRow&)>&)>& read) {
    std::map<Key, MetricsRow> rows;
    read([&](const MetricsRow& r) { EXPECT_TRUE(rows.emplace(key_of(r), r).second) << "visited twice"; });
    return rows;
  }
  std::vector<std::vector<Value>> findings() {
    return backend.query("SELECT run_id, " + Backend::ts("snapshot_at") + ", project, environment, window_name, " +
                         Backend::ts("window_from") +
                         ", segment, check_name, severity, metric, observed, expected, message FROM etl_data_checks "
                         "ORDER BY project, snapshot_at, check_name");
  }

  Backend backend;
};

TYPED_TEST_SUITE(DataChecksIoTest, Backends, BackendNames);

TYPED_TEST(DataChecksIoTest, SnapshotRowsAreEveryRowOfThatSnapshotOfTheProjectsAsked) {
  auto w = this->loaded();
  const auto all = this->collect([&](const auto& visit) { w->visit_snapshot_rows(kD5, {}, visit); });
  std::map<Key, MetricsRow> want;
  for (const MetricsRow& r : history()) {
    if (r.snapshot_at == kD5) want.emplace(key_of(r), r);
  }
  ASSERT_EQ(all.size(), want.size());
  for (const auto& [key, row] : want) {
    ASSERT_EQ(all.count(key), 1u);
    expect_same_row(all.at(key), row);
  }
  const auto beta = this->collect([&](const auto& visit) { w->visit_snapshot_rows(kD5, {"beta", "nobody"}, visit); });
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_EQ(beta.begin()->second.metrics.clients_with_event, 901);
  EXPECT_TRUE(this->collect([&](const auto& visit) { w->visit_snapshot_rows(kD5 + 3600, {}, visit); }).empty());
}

TYPED_TEST(DataChecksIoTest, PreviousRowsAreTheNewestEarlierRowOfEachSeries) {
  auto w = this->loaded();
  const auto previous = this->collect([&](const auto& visit) { w->visit_previous_rows(kD5, {}, visit); });
  // fixed alpha/all: D4 (not D6, after; not D2, older); alpha/US: D2 across the gap; GB: none;
  // rolling: D3 whatever its window_from; cohort D3: its own D4 row; cohort D4: new, none;
  // beta: D4.
  const std::vector<MetricsRow> want = {fixed("alpha", kD4, "all", 140), fixed("alpha", kD2, "country=US", 20),
                                        rolling(kD3, 70), cohort(kD4, kD3, 40), fixed("beta", kD4, "all", 900)};
  ASSERT_EQ(previous.size(), want.size());
  for (const MetricsRow& r : want) {
    ASSERT_EQ(previous.count(key_of(r)), 1u) << r.project << " " << r.window_name << " " << r.segment << " "
                                             << format_sql_timestamp(r.snapshot_at);
    expect_same_row(previous.at(key_of(r)), r);
  }
  const auto alpha = this->collect([&](const auto& visit) { w->visit_previous_rows(kD5, {"alpha"}, visit); });
  EXPECT_EQ(alpha.size(), 4u);
  EXPECT_TRUE(this->collect([&](const auto& visit) { w->visit_previous_rows(kD1, {}, visit); }).empty())
      << "the first snapshot has no previous rows";
}

TYPED_TEST(DataChecksIoTest, FindingsOfASnapshotAreReplacedAndCountedOnTheRun) {
  auto w = this->loaded();
  RunRecord run;
  run.run_id = "run-check";
  run.started_at = run.snapshot_at = kD5;
  run.version = "test";
  run.config_sha256 = "0";
  run.host = "h";
  w->start_run(run);

  w->replace_findings(kD5, {}, "run-check",
                      {finding("alpha", kD5, "count_decreased"), finding("beta", kD5, "large_change")});
  w->replace_findings(kD4, {}, "other-run", {finding("alpha", kD4, "large_change", "other-run")});
  EXPECT_EQ(this->backend.query("SELECT data_check_findings FROM etl_runs"), (Rows{{Value("2")}}));

  // A check of alpha alone replaces alpha's findings of that snapshot, nothing else.
  DataCheckFinding no_values = finding("alpha", kD5, "subset_exceeds_superset");
  no_values.observed.reset();
  no_values.expected.reset();
  no_values.message = "quote ' and \"double\", ünïcødé";
  w->replace_findings(kD5, {"alpha"}, "run-check", {no_values, finding("alpha", kD5, "empty_after_nonempty")});
  const Rows got = this->findings();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0][7], "large_change");  // alpha, D4: untouched
  EXPECT_EQ(got[1], (std::vector<Value>{"run-check", "2024-03-05 00:00:00", "alpha", "1", "all_time",
                                        "2015-01-01 00:00:00", "country=US", "empty_after_nonempty", "warning",
                                        "clients_with_event", got[1][10], got[1][11], got[1][12]}));
  EXPECT_EQ(std::stod(*got[1][10]), 25);
  EXPECT_EQ(std::stod(*got[1][11]), 20.5);
  EXPECT_EQ(got[2][7], "subset_exceeds_superset");
  EXPECT_EQ(got[2][8], "error");
  EXPECT_EQ(got[2][10], std::nullopt);
  EXPECT_EQ(got[2][11], std::nullopt);
  EXPECT_EQ(got[2][12], "quote ' and \"double\", ünïcødé");
  EXPECT_EQ(got[3][2], "beta");  // beta, D5: untouched
  EXPECT_EQ(this->backend.query("SELECT data_check_findings FROM etl_runs"), (Rows{{Value("2")}}));

  // No findings this time: the snapshot's findings go, and the count says 0.
  w->replace_findings(kD5, {}, "run-check", {});
  EXPECT_EQ(this->findings().size(), 1u);
  EXPECT_EQ(this->backend.query("SELECT data_check_findings FROM etl_runs"), (Rows{{Value("0")}}));
}

}  // namespace
}  // namespace qetl::test
