// empty_after_nonempty, count_decreased and large_change: each cell against the previous row
// of its series.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks_test_support.hpp"

namespace qetl {
namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using test::check;
using test::empty_row;
using test::night_before;
using test::row;
using test::summary;
using test::Where;

Where rolling() {
  Where w;
  w.window_name = "last_7_days";
  w.window_kind = "rolling";
  w.window_from = test::kSnapshot - 7 * test::kDay;
  return w;
}

// The cohort of one day, `days_before` days before the snapshot.
Where cohort(int days_before) {
  Where w;
  w.window_name = "daily_cohorts";
  w.window_kind = "cohort";
  w.window_from = test::kSnapshot - days_before * test::kDay;
  w.window_to = w.window_from + test::kDay;
  return w;
}

// ---- empty_after_nonempty ----------------------------------------------------------------

TEST(EmptyAfterNonempty, AllZerosWhereTheSeriesHadCustomersIsAnError) {
  const auto findings = check({empty_row("country=US")}, {row("country=US", {530, 20, 3, 1}, night_before({}))});
  ASSERT_EQ(findings.size(), 1u);
  const DataCheckFinding& f = findings[0];
  EXPECT_EQ(f.check_name, "empty_after_nonempty");
  EXPECT_EQ(f.severity, "error");
  EXPECT_EQ(f.segment, "country=US");
  EXPECT_EQ(f.snapshot_at, test::kSnapshot);
  EXPECT_EQ(f.metric, "clients_with_event");
  EXPECT_EQ(f.observed, 0.0);
  EXPECT_EQ(f.expected, 530.0);
  EXPECT_THAT(f.message, HasSubstr("2026-11-19T00:00:00Z"));
}

TEST(EmptyAfterNonempty, EveryOneOfTheNineMetricsMustBeZero) {
  const MetricsRow before = row("all", {10, 0, 0, 0}, night_before({}));
  EXPECT_THAT(summary(check({empty_row("all")}, {before})), ElementsAre("empty_after_nonempty all clients_with_event 0 10"));
  // Counts of 0 with sales or a percentage left is not an empty answer (only the fall of the
  // fixed window's clients_with_event remains to be said).
  MetricsRow zero_counts = empty_row("all");
  zero_counts.metrics.sales = "0.01";
  EXPECT_THAT(summary(check({zero_counts}, {before})), ElementsAre("count_decreased all clients_with_event 0 10"));
  zero_counts = empty_row("all");
  zero_counts.metrics.churned_subscribers = 0.5;
  EXPECT_THAT(summary(check({zero_counts}, {before})), ElementsAre("count_decreased all clients_with_event 0 10"));
  // Zero, however the API wrote it.
  zero_counts = empty_row("all");
  zero_counts.metrics.avg_price = "0.000";
  zero_counts.metrics.avg_payment_count = "-0.0E+2";
  EXPECT_THAT(summary(check({zero_counts}, {before})), ElementsAre("empty_after_nonempty all clients_with_event 0 10"));
}

TEST(EmptyAfterNonempty, NothingWhenTheSeriesWasEmptyOrNew) {
  EXPECT_THAT(check({empty_row("all")}, {empty_row("all", night_before({}))}), IsEmpty());
  EXPECT_THAT(check({empty_row("all")}, {row("all", {0, 5, 0, 0}, night_before({}))}), IsEmpty());
  EXPECT_THAT(check({empty_row("all")}), IsEmpty());
}

TEST(EmptyAfterNonempty, StandsForTheWholeCell) {
  // A fixed window falling from 5,000 to 0 is also a decrease and a large change: one finding.
  EXPECT_THAT(summary(check({empty_row("all")}, {row("all", {5000, 900, 300, 20}, night_before({}))})),
              ElementsAre("empty_after_nonempty all clients_with_event 0 5000"));
}

// ---- count_decreased --------------------------------------------------------------------

TEST(CountDecreased, AFixedWindowThatLosesCustomersIsAWarning) {
  const auto findings = check({row("country=US", {99, 0, 0, 0})}, {row("country=US", {100, 0, 0, 0}, night_before({}))});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].check_name, "count_decreased");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_EQ(findings[0].metric, "clients_with_event");
  EXPECT_EQ(findings[0].observed, 99.0);
  EXPECT_EQ(findings[0].expected, 100.0);
  EXPECT_THAT(findings[0].message, HasSubstr("fell from 100 (2026-11-19T00:00:00Z) to 99"));
  EXPECT_THAT(check({row("country=US", {100, 0, 0, 0})}, {row("country=US", {100, 0, 0, 0}, night_before({}))}),
              IsEmpty());
}

TEST(CountDecreased, OnlyClientsWithEventIsWatched) {
  EXPECT_THAT(check({row("all", {100, 90, 9, 0})}, {row("all", {100, 99, 10, 1}, night_before({}))}), IsEmpty());
}

TEST(CountDecreased, NotWithAStatusFilter) {
  EXPECT_THAT(check({row("status=1", {90, 0, 0, 0})}, {row("status=1", {100, 0, 0, 0}, night_before({}))}), IsEmpty());
  EXPECT_EQ(check({row("country=DE;status=1", {90, 0, 0, 0}), row("all", {1000, 0, 0, 0})},
                  {row("country=DE;status=1", {100, 0, 0, 0}, night_before({}))})
                .size(),
            0u);
}

TEST(CountDecreased, NeverForARollingWindow) {
  EXPECT_THAT(check({row("all", {90, 0, 0, 0}, rolling())}, {row("all", {100, 0, 0, 0}, night_before(rolling()))}),
              IsEmpty());
}

TEST(CountDecreased, ACohortClosedAtThePreviousSnapshotMustNotFall) {
  // Three days back: the bucket ended a day before the night before's snapshot.
  EXPECT_THAT(summary(check({row("all", {90, 0, 0, 0}, cohort(3))}, {row("all", {100, 0, 0, 0}, night_before(cohort(3)))})),
              ElementsAre("count_decreased all clients_with_event 90 100"));
  // Two days back: the bucket ended exactly at the previous snapshot, closed then too.
  EXPECT_THAT(summary(check({row("all", {90, 0, 0, 0}, cohort(2))}, {row("all", {100, 0, 0, 0}, night_before(cohort(2)))})),
              ElementsAre("count_decreased all clients_with_event 90 100"));
}

TEST(CountDecreased, NotForACohortStillOpenAtThePreviousSnapshot) {
  // A previous row taken an hour before the bucket ended (an hourly grain): its customers were
  // not all there yet.
  Where earlier = cohort(2);
  earlier.snapshot_at = test::kSnapshot - test::kDay - 3600;
  EXPECT_THAT(check({row("all", {90, 0, 0, 0}, cohort(2))}, {row("all", {100, 0, 0, 0}, earlier)}), IsEmpty());
}

TEST(CountDecreased, NotForAWindowKindItDoesNotKnow) {
  Where odd;
  odd.window_kind = "sliding";
  EXPECT_THAT(check({row("all", {90, 0, 0, 0}, odd)}, {row("all", {100, 0, 0, 0}, night_before(odd))}), IsEmpty());
}

// ---- large_change -----------------------------------------------------------------------

TEST(LargeChange, ACountMovingMoreThanMaxChangeIsAWarning) {
  const auto findings = check({row("all", {1000, 301, 0, 0})}, {row("all", {1000, 200, 0, 0}, night_before({}))});
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].check_name, "large_change");
  EXPECT_EQ(findings[0].severity, "warning");
  EXPECT_EQ(findings[0].metric, "active_subscribers");
  EXPECT_EQ(findings[0].observed, 301.0);
  EXPECT_EQ(findings[0].expected, 200.0);
  EXPECT_THAT(findings[0].message, HasSubstr("+50.5 %"));
}

TEST(LargeChange, ExactlyAtTheBoundIsNoFinding) {
  EXPECT_THAT(check({row("all", {1000, 300, 0, 0})}, {row("all", {1000, 200, 0, 0}, night_before({}))}), IsEmpty());
  EXPECT_THAT(check({row("all", {1000, 100, 0, 0})}, {row("all", {1000, 200, 0, 0}, night_before({}))}), IsEmpty());
  EXPECT_THAT(summary(check({row("all", {1000, 99, 0, 0})}, {row("all", {1000, 200, 0, 0}, night_before({}))})),
              ElementsAre("large_change all active_subscribers 99 200"));
}

TEST(LargeChange, OnlyFromAPreviousValueOfAtLeastMinCount) {
  EXPECT_THAT(check({row("all", {1000, 0, 1000, 0})}, {row("all", {1000, 0, 99, 0}, night_before({}))}), IsEmpty());
  EXPECT_THAT(summary(check({row("all", {1000, 0, 1000, 0})}, {row("all", {1000, 0, 100, 0}, night_before({}))})),
              ElementsAre("large_change all active_trials 1000 100"));
}

TEST(LargeChange, ThresholdsComeFromTheSettings) {
  CheckSettings loose;
  loose.max_change = 2.0;
  loose.min_count = 10;
  EXPECT_THAT(check({row("all", {1000, 0, 0, 30})}, {row("all", {1000, 0, 0, 10}, night_before({}))}, loose), IsEmpty());
  EXPECT_THAT(summary(check({row("all", {1000, 0, 0, 31})}, {row("all", {1000, 0, 0, 10}, night_before({}))}, loose)),
              ElementsAre("large_change all billing_retry 31 10"));
}

TEST(LargeChange, RollingWindowsAndStatusFiltersAreWatchedToo) {
  EXPECT_THAT(summary(check({row("status=2", {1000, 0, 0, 0}, rolling())},
                            {row("status=2", {300, 0, 0, 0}, night_before(rolling()))})),
              ElementsAre("large_change status=2 clients_with_event 1000 300"));
}

TEST(LargeChange, DoesNotRepeatACountDecrease) {
  // clients_with_event fell by 90 %: count_decreased says so; active_subscribers, which no other
  // check watches, gets its own large_change.
  EXPECT_THAT(summary(check({row("all", {100, 10, 0, 0})}, {row("all", {1000, 1000, 0, 0}, night_before({}))})),
              ElementsAre("count_decreased all clients_with_event 100 1000",
                          "large_change all active_subscribers 10 1000"));
  // Where count_decreased does not apply (rolling), large_change reports the fall.
  EXPECT_THAT(summary(check({row("all", {100, 1000, 0, 0}, rolling())},
                            {row("all", {1000, 1000, 0, 0}, night_before(rolling()))})),
              ElementsAre("large_change all clients_with_event 100 1000"));
}

// ---- series identity ----------------------------------------------------------------------

TEST(SeriesIdentity, ACohortBucketIsItsOwnSeries) {
  // The row of the bucket one day older is another series: no comparison.
  EXPECT_THAT(check({row("all", {10, 0, 0, 0}, cohort(3))}, {row("all", {1000, 0, 0, 0}, night_before(cohort(2)))}),
              IsEmpty());
}

TEST(SeriesIdentity, FixedAndRollingWindowsAreOneSeriesWhateverTheirBounds) {
  EXPECT_EQ(check({row("all", {90, 0, 0, 0})}, {row("all", {100, 0, 0, 0}, night_before({}))}).size(), 1u);
  EXPECT_EQ(check({row("all", {1000, 0, 0, 0}, rolling())}, {row("all", {100, 0, 0, 0}, night_before(rolling()))}).size(),
            1u);
}

TEST(SeriesIdentity, ProjectEnvironmentWindowAndSegmentMustMatch) {
  const MetricsRow now = row("country=US", {10, 0, 0, 0});
  Where other_project = night_before({});
  other_project.project = "other";
  Where sandbox = night_before({});
  sandbox.environment = 0;
  Where other_window = night_before({});
  other_window.window_name = "since_2021";
  EXPECT_THAT(check({now}, {row("country=US", {1000, 0, 0, 0}, other_project), row("country=US", {1000, 0, 0, 0}, sandbox),
                            row("country=US", {1000, 0, 0, 0}, other_window), row("country=GB", {1000, 0, 0, 0}, night_before({}))}),
              IsEmpty());
}

TEST(SeriesIdentity, TheNewestEarlierRowIsComparedWhateverTheOrder) {
  Where two_nights = night_before(night_before({}));
  const MetricsRow older = row("all", {5000, 0, 0, 0}, two_nights);
  const MetricsRow newer = row("all", {100, 0, 0, 0}, night_before({}));
  const MetricsRow now = row("all", {101, 0, 0, 0});
  EXPECT_THAT(check({now}, {older, newer}), IsEmpty());
  EXPECT_THAT(check({now}, {newer, older}), IsEmpty());
}

TEST(SeriesIdentity, ARowNotOlderThanTheSnapshotIsNeverThePreviousOne) {
  EXPECT_THAT(check({row("all", {10, 0, 0, 0})}, {row("all", {1000, 0, 0, 0})}), IsEmpty());
}

}  // namespace
}  // namespace qetl
