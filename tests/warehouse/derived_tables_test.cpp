// The trend tables behind customer_metrics_latest and customer_metrics_daily (migration 7), on
// both warehouses: a run's rows land in them when the run ends, however the snapshot was loaded
// (resumed, sharded, re-run, backfilled, outlasting the next night's run); rows written by other
// means land with a rebuild. "Right" is checked three ways: against the views as release 0.2.0
// defined them straight over customer_metrics (sql/<backend>/003_trend_views.sql), against a
// from-scratch rebuild, and against what the history says (trend_fixtures.hpp, without SQL).
//
// These are warehouse-level tests rather than runs of the binary: the trend tables see nothing
// of a run but its etl_runs row and the batches it upserts, and here the order and interleaving
// of those calls are chosen exactly, including the ones a real resume or shard only produces by
// chance. The runner's own choice of cells for --resume and --shard is tested in tests/e2e.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "warehouse/trend_fixtures.hpp"

namespace qetl::test {
namespace {

using namespace trend;

template <class Backend>
class DerivedTables : public ::testing::Test {
 protected:
  Table latest() { return read_table(backend, select_all(latest_columns(), "customer_metrics_latest")); }
  Table daily() { return read_table(backend, select_all(daily_columns(), "customer_metrics_daily")); }
  // The views as 0.2.0 defined them, over what customer_metrics holds now.
  Rows version3_latest() {
    return read_table(backend, select_all(latest_columns(), "(" + version3_view_query(backend, "customer_metrics_latest") +
                                                                ") AS version3"))
        .rows;
  }
  Rows version3_daily() {
    return read_table(backend, select_all(daily_columns(), "(" + version3_view_query(backend, "customer_metrics_daily") +
                                                               ") AS version3"))
        .rows;
  }
  // Both trend tables as text, every column, in a fixed order: what a rebuild must reproduce.
  Rows trend_tables() {
    Rows rows = backend.query("SELECT * FROM customer_metrics_days ORDER BY day, project, environment, window_name, "
                              "segment, window_kind, cohort_key");
    for (auto& r : backend.query("SELECT * FROM customer_metrics_newest ORDER BY project, environment, window_name, "
                                 "segment, window_kind, cohort_key")) {
      rows.push_back(std::move(r));
    }
    return rows;
  }

  // Expects both views to equal the 0.2.0 definitions and a from-scratch rebuild to change nothing.
  void expect_views_right(const std::string& when) {
    SCOPED_TRACE(when);
    const Rows latest_rows = sorted(latest().rows);
    const Rows daily_rows = sorted(daily().rows);
    EXPECT_EQ(latest_rows, sorted(version3_latest()));
    EXPECT_EQ(daily_rows, sorted(version3_daily()));
    const Rows tables = trend_tables();
    backend.open()->rebuild_derived();
    EXPECT_EQ(trend_tables(), tables) << "a rebuild changed the trend tables";
    EXPECT_EQ(sorted(latest().rows), latest_rows);
    EXPECT_EQ(sorted(daily().rows), daily_rows);
  }

  Backend backend;
};

TYPED_TEST_SUITE(DerivedTables, Backends, BackendNames);

// One run's rows of one snapshot, as the job writes them: start_run, batches, finish_run.
class Run {
 public:
  Run(Warehouse& w, std::string run_id, UnixSeconds snapshot) : w_(w), run_(fixture_run(std::move(run_id), snapshot)) {
    w_.start_run(run_);
  }
  void load(const std::vector<MetricsRow>& rows) {
    std::vector<MetricsRow> mine = rows;
    for (MetricsRow& r : mine) r.run_id = run_.run_id;
    run_.rows_upserted += static_cast<std::int64_t>(w_.upsert_metrics(mine).rows_written);
  }
  void end(const std::string& status = "succeeded") {
    run_.status = status;
    run_.finished_at = run_.started_at + 60;
    w_.finish_run(run_);
  }

 private:
  Warehouse& w_;
  RunRecord run_;
};

std::map<UnixSeconds, std::vector<MetricsRow>> by_snapshot(const std::vector<MetricsRow>& rows) {
  std::map<UnixSeconds, std::vector<MetricsRow>> out;
  for (const MetricsRow& r : rows) out[r.snapshot_at].push_back(r);
  return out;
}

// The same rows with every figure changed and fetched earlier: what a re-run replaces.
std::vector<MetricsRow> first_attempt(std::vector<MetricsRow> rows) {
  for (MetricsRow& r : rows) {
    r.metrics.active_subscribers += 1000;
    r.metrics.clients_with_event += 77;
    r.fetched_at -= 3600;
  }
  return rows;
}

std::vector<MetricsRow> half(const std::vector<MetricsRow>& rows, bool odd) {
  std::vector<MetricsRow> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if ((i % 2 == 1) == odd) out.push_back(rows[i]);
  }
  return out;
}

TYPED_TEST(DerivedTables, ARunsRowsShowWhenItEnds) {
  auto w = this->backend.open();
  w->migrate();
  const auto snapshots = by_snapshot(seeded_rows());
  const auto& [t, rows] = *snapshots.begin();
  Run run(*w, "run-1", t);
  run.load(rows);
  EXPECT_TRUE(this->daily().rows.empty()) << "the views show a run's rows before it ends";
  EXPECT_TRUE(this->latest().rows.empty());
  run.end();
  EXPECT_EQ(this->daily().rows.size(), 8u + 1 + 3 + 1);  // fixed, rolling, cohort buckets, sandbox
  this->expect_views_right("after the run");
}

TYPED_TEST(DerivedTables, TheSeededHistoryIsWhatTheVersion3ViewsSay) {
  seed(*this->backend.open());
  EXPECT_EQ(sorted(this->daily().rows), sorted(expected_daily(seeded_rows())));
  this->expect_views_right("after the seeded runs");
}

// Resumed, sharded, re-run, backfilled and overlapping snapshots: the trend tables end as a
// from-scratch rebuild (and the 0.2.0 views) say, after every night.
TYPED_TEST(DerivedTables, EveryWayOfLoadingASnapshotEndsAsASingleRunWould) {
  auto w = this->backend.open();
  w->migrate();
  const auto snapshots = by_snapshot(seeded_rows());
  const UnixSeconds backfilled = day_start(4);  // 2024-03-05, loaded last
  int night = 0;
  for (auto it = snapshots.begin(); it != snapshots.end(); ++it, ++night) {
    const auto& [t, rows] = *it;
    const std::string id = "run-" + std::to_string(night);
    if (t == backfilled) continue;
    switch (night % 5) {
      case 0: {  // interrupted half-way (marked so by the next run), then --resume loads the rest
        Run first(*w, id + "-a", t);
        first.load(half(rows, false));
        first.end("interrupted");
        Run resume(*w, id + "-b", t);
        resume.load(half(rows, true));
        resume.end();
        break;
      }
      case 1: {  // --shard 1/2 and 2/2 side by side, batches interleaved, the second ends first
        Run one(*w, id + "-1of2", t), two(*w, id + "-2of2", t);
        const auto a = half(rows, false), b = half(rows, true);
        one.load(std::vector<MetricsRow>(a.begin(), a.begin() + static_cast<long>(a.size() / 2)));
        two.load(b);
        two.end();
        one.load(std::vector<MetricsRow>(a.begin() + static_cast<long>(a.size() / 2), a.end()));
        one.end();
        break;
      }
      case 2: {  // loaded, then run again: the second run's figures replace the first's
        Run first(*w, id + "-a", t);
        first.load(first_attempt(rows));
        first.end();
        Run again(*w, id + "-b", t);
        again.load(rows);
        again.end();
        break;
      }
      case 3: {  // a run that outlasts the start and end of the next night's run
        auto next = std::next(it);
        if (next == snapshots.end() || next->first == backfilled) {
          Run single(*w, id, t);
          single.load(rows);
          single.end();
          break;
        }
        Run slow(*w, id, t);
        slow.load(half(rows, false));
        Run tomorrow(*w, id + "-next", next->first);
        tomorrow.load(next->second);
        tomorrow.end();
        slow.load(half(rows, true));
        slow.end();
        ++it;
        ++night;
        break;
      }
      default: {
        Run single(*w, id, t);
        single.load(rows);
        single.end();
      }
    }
    this->expect_views_right("after night " + std::to_string(night));
  }
  Run backfill(*w, "run-backfill", backfilled);
  backfill.load(snapshots.at(backfilled));
  backfill.end();
  this->expect_views_right("after the backfill");
  // Every row the history holds, whichever run wrote it last.
  std::vector<MetricsRow> want = seeded_rows();
  EXPECT_EQ(this->daily().rows.size(), expected_daily(want).size());
}

TYPED_TEST(DerivedTables, RowsWrittenByOtherMeansShowAfterARebuild) {
  seed(*this->backend.open());
  const Rows daily_before = sorted(this->daily().rows);
  // A DBA's INSERT of the SPEC columns into a past day (a series the job never loaded), an UPDATE
  // of a figure and a DELETE, in plain SQL.
  const auto ts = [](const std::string& utc) {
    return std::string(TypeParam::kName) == "postgresql" ? "'" + utc + "+00'" : "'" + utc + "'";
  };
  this->backend.exec(
      "INSERT INTO customer_metrics (snapshot_at, project, environment, window_name, window_kind, window_from, "
      "window_to, segment, country, clients_with_event, active_subscribers, active_trials, billing_retry, "
      "churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id) VALUES (" +
      ts("2024-03-12 00:00:00") + ", 'my-app', 1, 'all_time', 'fixed', " + ts("2015-01-01 00:00:00") + ", " +
      ts("2024-03-12 00:00:00") + ", 'country=FR', 'FR', 10, 5, 1, 0, 1.5, 2.5, 1.1, 9.99, 123.45, " +
      ts("2024-03-12 00:09:00") + ", 'by-hand')");
  this->backend.exec("UPDATE customer_metrics SET active_subscribers = active_subscribers + 500 WHERE segment = 'all' "
                     "AND window_name = 'all_time' AND environment = 1 AND snapshot_at = " +
                     ts("2024-03-21 00:00:00"));
  this->backend.exec("DELETE FROM customer_metrics WHERE segment = 'country=DE' AND snapshot_at = " +
                     ts("2024-03-08 00:00:00"));
  EXPECT_EQ(sorted(this->daily().rows), daily_before) << "the trend tables took rows not written by a run";
  EXPECT_NE(daily_before, sorted(this->version3_daily()));

  this->backend.open()->rebuild_derived();
  this->expect_views_right("after the rebuild");
  EXPECT_EQ(this->daily().where({{"segment", "country=FR"}, {"day", "2024-03-12"}}).size(), 1u);
  EXPECT_TRUE(this->daily().where({{"segment", "country=DE"}, {"day", "2024-03-08"}}).empty());
  // The day after the deleted one has nothing to compare with any more.
  const Table d = this->daily();
  const auto de = d.where({{"segment", "country=DE"}, {"day", "2024-03-09"}});
  ASSERT_EQ(de.size(), 1u);
  EXPECT_EQ(d.at(de[0], "active_subscribers_change_1d"), std::nullopt);
}

TYPED_TEST(DerivedTables, ARunThatDiedShowsWhenItIsMarkedInterrupted) {
  auto w = this->backend.open();
  w->migrate();
  const auto snapshots = by_snapshot(seeded_rows());
  const auto& [t, rows] = *snapshots.begin();
  RunRecord dead = fixture_run("run-killed", t);
  dead.projects = {kProject};
  w->start_run(dead);
  std::vector<MetricsRow> mine = rows;
  for (MetricsRow& r : mine) r.run_id = dead.run_id;
  w->upsert_metrics(mine);
  EXPECT_TRUE(this->daily().rows.empty());
  // The next run of the project finds it running with its process gone (SPEC: stale runs).
  RunRecord next = fixture_run("run-next", t + kDay);
  next.projects = {kProject};
  EXPECT_EQ(this->backend.open()->close_stale_runs(next), std::vector<std::string>{"run-killed"});
  EXPECT_EQ(this->daily().rows.size(), rows.size());  // one row per series: each cohort bucket is one
  this->expect_views_right("after the dead run was marked");
}

// A run's end recomputes the series it wrote, not the whole day: with shards side by side, the
// day is computed once in all rather than again at each shard's end. Shard one's rows in the
// trend tables are marked after it ends; shard two's end leaves the mark where it is.
TYPED_TEST(DerivedTables, AShardsEndRecomputesOnlyTheSeriesItWrote) {
  auto w = this->backend.open();
  w->migrate();
  const auto snapshots = by_snapshot(seeded_rows());
  const auto& [t, rows] = *snapshots.begin();
  Run one(*w, "run-1of2", t), two(*w, "run-2of2", t);
  one.load(half(rows, false));
  two.load(half(rows, true));
  one.end();
  this->backend.exec("UPDATE customer_metrics_days SET sales = -1 WHERE run_id = 'run-1of2'");
  this->backend.exec("UPDATE customer_metrics_newest SET sales = -1 WHERE run_id = 'run-1of2'");
  const std::string marked_days = "SELECT COUNT(*) FROM customer_metrics_days WHERE sales = -1";
  const std::string marked_newest = "SELECT COUNT(*) FROM customer_metrics_newest WHERE sales = -1";
  const std::string half_rows = std::to_string(half(rows, false).size());
  ASSERT_EQ(this->backend.query(marked_days)[0][0], half_rows);
  two.end();
  EXPECT_EQ(this->backend.query(marked_days)[0][0], half_rows) << "shard two's end computed shard one's series again";
  EXPECT_EQ(this->backend.query(marked_newest)[0][0], half_rows);
  const std::string shard_two = "SELECT * FROM customer_metrics_days WHERE run_id = 'run-2of2' ORDER BY project, "
                                "environment, window_name, segment, window_kind, cohort_key";
  const Rows two_rows = this->backend.query(shard_two);
  EXPECT_EQ(two_rows.size(), half(rows, true).size());
  w->rebuild_derived();
  EXPECT_EQ(this->backend.query(shard_two), two_rows) << "shard two's series differ from a rebuild's";
  this->expect_views_right("after the rebuild");
}

// A re-run of the newest snapshot after a window changed kind overwrites that window's rows
// (the stored key has no kind): the old kind's series loses its newest day, and its newest row
// is an earlier day's again.
TYPED_TEST(DerivedTables, ASeriesThatLosesItsNewestDayShowsItsDayBefore) {
  seed(*this->backend.open());
  auto w = this->backend.open();
  const UnixSeconds t = day_start(kDays - 1);
  std::vector<MetricsRow> rerun;
  for (const MetricsRow& r : seeded_rows()) {
    if (r.snapshot_at == t && r.window_kind == "fixed" && r.environment == 1) {
      MetricsRow changed = r;
      changed.window_kind = "rolling";
      changed.metrics.active_subscribers += 5;
      rerun.push_back(changed);
    }
  }
  ASSERT_EQ(rerun.size(), 8u);
  Run run(*w, "run-rerun-rolling", t);
  run.load(rerun);
  run.end();
  const Table latest = this->latest();
  const auto fixed_all = latest.where({{"environment", "1"}, {"window_name", "all_time"}, {"window_kind", "fixed"}, {"segment", "all"}});
  ASSERT_EQ(fixed_all.size(), 1u);
  EXPECT_EQ(latest.at(fixed_all[0], "snapshot_at"), "2024-03-28 00:00:00") << "the day before the lost one";
  EXPECT_EQ(latest.where({{"environment", "1"}, {"window_name", "all_time"}, {"window_kind", "rolling"}, {"segment", "all"}}).size(), 1u);
  this->expect_views_right("after the re-run with the other kind");
}

// The trend tables are derived: when they cannot be brought up to date (here a DBA dropped one),
// the run's own record is stored all the same, and a rebuild repairs them.
TYPED_TEST(DerivedTables, ATrendTableThatCannotBeWrittenNeverCostsTheRunsRecord) {
  auto w = this->backend.open();
  w->migrate();
  const auto snapshots = by_snapshot(seeded_rows());
  const auto& [t, rows] = *snapshots.begin();
  this->backend.exec("ALTER TABLE customer_metrics_newest RENAME TO customer_metrics_newest_away");
  Run run(*w, "run-1", t);
  run.load(rows);
  EXPECT_NO_THROW(run.end());
  EXPECT_EQ(this->backend.query("SELECT status FROM etl_runs WHERE run_id = 'run-1'")[0][0], "succeeded");
  EXPECT_EQ(this->backend.query("SELECT COUNT(*) FROM customer_metrics_days")[0][0], "0")
      << "the day's refresh is one transaction: nothing of it stays";
  this->backend.exec("ALTER TABLE customer_metrics_newest_away RENAME TO customer_metrics_newest");
  w->rebuild_derived();
  this->expect_views_right("after the rebuild");
}

TYPED_TEST(DerivedTables, ARunThatStoredNothingLeavesTheTablesAlone) {
  seed(*this->backend.open());
  const Rows before = this->trend_tables();
  auto w = this->backend.open();
  RunRecord empty = fixture_run("run-empty", day_start(3));
  w->start_run(empty);
  empty.status = "failed";
  w->finish_run(empty);
  EXPECT_EQ(this->trend_tables(), before);
}

}  // namespace
}  // namespace qetl::test
