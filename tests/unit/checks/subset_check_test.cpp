// subset_exceeds_superset: a filtered cell never holds more customers than a cell with fewer
// (or wider) filters in the same snapshot, project, environment and window bucket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks_test_support.hpp"

namespace qetl {
namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::check;
using test::row;
using test::summary;

TEST(SubsetCheck, AValueAboveTheUnfilteredCellIsAnError) {
  const auto findings = check({row("all", {100, 50, 5, 1}), row("country=US", {150, 50, 5, 1})});
  ASSERT_EQ(findings.size(), 1u);
  const DataCheckFinding& f = findings[0];
  EXPECT_EQ(f.check_name, "subset_exceeds_superset");
  EXPECT_EQ(f.severity, "error");
  EXPECT_EQ(f.run_id, "r-check");
  EXPECT_EQ(f.snapshot_at, test::kSnapshot);
  EXPECT_EQ(f.project, "app");
  EXPECT_EQ(f.environment, 1);
  EXPECT_EQ(f.window_name, "all_time");
  EXPECT_EQ(f.window_from, parse_utc_timestamp("2020-01-01"));
  EXPECT_EQ(f.segment, "country=US");  // the subset cell
  EXPECT_EQ(f.metric, "clients_with_event");
  EXPECT_EQ(f.observed, 150.0);
  EXPECT_EQ(f.expected, 100.0);  // the superset's value
  EXPECT_THAT(f.message, HasSubstr("superset cell all"));
  EXPECT_THAT(f.message, HasSubstr("at most 101 allowed"));
}

TEST(SubsetCheck, EachCountMetricIsCheckedOnItsOwn) {
  EXPECT_THAT(summary(check({row("all", {100, 50, 20, 3}), row("country=US", {90, 60, 10, 3})})),
              ElementsAre("subset_exceeds_superset country=US active_subscribers 60 50"));
  EXPECT_THAT(summary(check({row("all", {100, 50, 20, 3}), row("country=US", {90, 40, 22, 3})})),
              ElementsAre("subset_exceeds_superset country=US active_trials 22 20"));
  EXPECT_THAT(summary(check({row("all", {100, 50, 20, 3}), row("country=US", {90, 40, 10, 5})})),
              ElementsAre("subset_exceeds_superset country=US billing_retry 5 3"));
  EXPECT_THAT(summary(check({row("all", {100, 50, 20, 3}), row("country=US", {200, 60, 22, 5})})),
              ElementsAre("subset_exceeds_superset country=US active_subscribers 60 50",
                          "subset_exceeds_superset country=US active_trials 22 20",
                          "subset_exceeds_superset country=US billing_retry 5 3",
                          "subset_exceeds_superset country=US clients_with_event 200 100"));
}

TEST(SubsetCheck, AGroupContainsItsValues) {
  EXPECT_THAT(summary(check({row("country=EU", {100, 0, 0, 0}), row("country=DE", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE clients_with_event 150 100"));
  // A value outside the group, and a group above one of its values, are fine.
  EXPECT_THAT(check({row("country=EU", {100, 0, 0, 0}), row("country=US", {150, 0, 0, 0})}), ::testing::IsEmpty());
  EXPECT_THAT(check({row("country=EU", {150, 0, 0, 0}), row("country=DE", {100, 0, 0, 0})}), ::testing::IsEmpty());
}

TEST(SubsetCheck, AGroupContainsTheGroupsWhoseValuesItHolds) {
  EXPECT_THAT(summary(check({row("country=EU", {100, 0, 0, 0}), row("country=DE_FR", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE_FR clients_with_event 150 100"));
  EXPECT_THAT(check({row("country=DE_FR", {100, 0, 0, 0}), row("country=EU", {150, 0, 0, 0})}), ::testing::IsEmpty());
}

TEST(SubsetCheck, AGroupOfOneValueAndThatValueMustAgree) {
  EXPECT_THAT(summary(check({row("country=DE", {100, 0, 0, 0}), row("country=ONLY_DE", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=ONLY_DE clients_with_event 150 100"));
  EXPECT_THAT(summary(check({row("country=ONLY_DE", {100, 0, 0, 0}), row("country=DE", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE clients_with_event 150 100"));
}

TEST(SubsetCheck, SiblingsAndCrossedFiltersAreNotCompared) {
  EXPECT_THAT(check({row("country=DE", {150, 0, 0, 0}), row("country=FR", {100, 0, 0, 0}),
                     row("target_platform=iOS", {500, 0, 0, 0}), row("country=US", {900, 0, 0, 0})}),
              ::testing::IsEmpty());
  // A cell filtered on a dimension the other leaves open is not its superset.
  EXPECT_THAT(check({row("country=US", {100, 0, 0, 0}), row("country=US;target_platform=iOS", {50, 0, 0, 0}),
                     row("all", {1000, 0, 0, 0})}),
              ::testing::IsEmpty());
}

TEST(SubsetCheck, MoreFiltersAreASubset) {
  EXPECT_THAT(summary(check({row("country=DE", {100, 0, 0, 0}), row("country=DE;target_platform=iOS", {150, 0, 0, 0}),
                             row("all", {1000, 0, 0, 0}), row("target_platform=iOS", {1000, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE;target_platform=iOS clients_with_event 150 100"));
}

TEST(SubsetCheck, OneFindingPerCellAndMetricAgainstTheSmallestSupersetExceeded) {
  const auto findings = check({row("all", {130, 0, 0, 0}), row("country=DE", {120, 0, 0, 0}),
                               row("target_platform=iOS", {110, 0, 0, 0}), row("country=EU", {125, 0, 0, 0}),
                               row("country=DE;target_platform=iOS", {150, 0, 0, 0})});
  EXPECT_THAT(summary(findings),
              ElementsAre("subset_exceeds_superset country=DE;target_platform=iOS clients_with_event 150 110"));
  EXPECT_THAT(findings[0].message, HasSubstr("superset cell target_platform=iOS "));
}

TEST(SubsetCheck, EqualSupersetsNameTheFirstSegmentInTextOrder) {
  for (bool reversed : {false, true}) {
    std::vector<MetricsRow> rows = {row("target_platform=iOS", {100, 0, 0, 0}), row("country=DE", {100, 0, 0, 0}),
                                    row("country=DE;target_platform=iOS", {150, 0, 0, 0})};
    if (reversed) std::reverse(rows.begin(), rows.end());
    const auto findings = check(rows);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_THAT(findings[0].message, HasSubstr("superset cell country=DE "));
  }
}

TEST(SubsetCheck, AFartherSupersetIsFoundWhenTheNearerOnesAreMissing) {
  // Neither country=DE, country=DE_FR, target_platform=iOS nor search=gold alone is stored:
  // only EU (widened twice, platform and search dropped) and the unfiltered cell.
  EXPECT_THAT(summary(check({row("country=EU", {100, 0, 0, 0}), row("all", {1000, 0, 0, 0}),
                             row("country=DE;search=gold;target_platform=iOS", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE;search=gold;target_platform=iOS clients_with_event 150 100"));
  EXPECT_THAT(summary(check({row("all", {100, 0, 0, 0}),
                             row("country=DE;search=gold;target_platform=iOS", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE;search=gold;target_platform=iOS clients_with_event 150 100"));
}

TEST(SubsetCheck, SearchIsOnlyEqualToItself) {
  // A search narrows: it is a subset of the same filters without it ...
  EXPECT_THAT(summary(check({row("country=US", {100, 0, 0, 0}), row("country=US;search=gold", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=US;search=gold clients_with_event 150 100"));
  // ... and of wider filters with the same search ...
  EXPECT_THAT(summary(check({row("country=EU;search=gold", {100, 0, 0, 0}), row("country=DE;search=gold", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=DE;search=gold clients_with_event 150 100"));
  // ... but a cell with a search is never a superset of one without, nor of another search.
  EXPECT_THAT(check({row("country=US;search=gold", {100, 0, 0, 0}), row("country=US", {150, 0, 0, 0})}), ::testing::IsEmpty());
  EXPECT_THAT(check({row("search=silver", {100, 0, 0, 0}), row("search=gold", {150, 0, 0, 0})}), ::testing::IsEmpty());
}

TEST(SubsetCheck, ToleranceIsAShareOfTheSupersetAndAtLeastOne) {
  const auto excess = [](std::int64_t superset, std::int64_t subset, double tolerance = 0.01) {
    CheckSettings settings;
    settings.tolerance = tolerance;
    return check({row("all", {superset, 0, 0, 0}), row("country=US", {subset, 0, 0, 0})}, {}, settings).size();
  };
  EXPECT_EQ(excess(1000, 1010), 0u);  // exactly at the bound: no finding
  EXPECT_EQ(excess(1000, 1011), 1u);
  EXPECT_EQ(excess(50, 51), 0u);  // 1 % of 50 is less than 1: one customer is allowed
  EXPECT_EQ(excess(50, 52), 1u);
  EXPECT_EQ(excess(0, 1), 0u);
  EXPECT_EQ(excess(0, 2), 1u);
  EXPECT_EQ(excess(1000, 1100, 0.1), 0u);
  EXPECT_EQ(excess(1000, 1101, 0.1), 1u);
  EXPECT_EQ(excess(1000, 1002, 0), 1u);
  EXPECT_EQ(excess(1000, 1001, 0), 0u);
}

TEST(SubsetCheck, CellsOfDifferentBucketsAreNeverCompared) {
  test::Where cohort_a;
  cohort_a.window_name = "daily";
  cohort_a.window_kind = "cohort";
  cohort_a.window_from = test::kSnapshot - 2 * test::kDay;
  cohort_a.window_to = test::kSnapshot - test::kDay;
  test::Where cohort_b = cohort_a;
  cohort_b.window_from += test::kDay;
  cohort_b.window_to += test::kDay;
  test::Where other_project;
  other_project.project = "other";
  test::Where sandbox;
  sandbox.environment = 0;
  test::Where other_window;
  other_window.window_name = "since_2021";
  test::Where other_snapshot;
  other_snapshot.snapshot_at -= test::kDay;
  other_snapshot.window_to -= test::kDay;
  EXPECT_THAT(check({row("all", {100, 0, 0, 0}, cohort_a), row("country=US", {150, 0, 0, 0}, cohort_b),
                     row("country=US", {150, 0, 0, 0}, other_project), row("country=US", {150, 0, 0, 0}, sandbox),
                     row("country=US", {150, 0, 0, 0}, other_window), row("country=US", {150, 0, 0, 0}, other_snapshot)}),
              ::testing::IsEmpty());

  // Several buckets at once, each checked within itself.
  const auto findings = check({row("all", {100, 0, 0, 0}, cohort_a), row("country=US", {150, 0, 0, 0}, cohort_a),
                               row("all", {200, 0, 0, 0}, cohort_b), row("country=US", {150, 0, 0, 0}, cohort_b),
                               row("all", {10, 0, 0, 0}, sandbox), row("country=EU", {20, 0, 0, 0}, sandbox)});
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].environment, 0);
  EXPECT_EQ(findings[0].segment, "country=EU");
  EXPECT_EQ(findings[1].window_name, "daily");
  EXPECT_EQ(findings[1].window_from, cohort_a.window_from);
  EXPECT_EQ(findings[1].segment, "country=US");
}

TEST(SubsetCheck, ALabelTheConfigNoLongerKnowsIsASingleValue) {
  // A snapshot stored under an older config that had a group OLD_EU: checked again now, the
  // label reads as one value (contained only in "no filter"), never as a group of nothing.
  EXPECT_THAT(check({row("country=OLD_EU", {100, 0, 0, 0}), row("country=DE", {150, 0, 0, 0})}), ::testing::IsEmpty());
  EXPECT_THAT(summary(check({row("all", {100, 0, 0, 0}), row("country=OLD_EU", {150, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset country=OLD_EU clients_with_event 150 100"));
}

TEST(SubsetCheck, ARepeatedCellKeepsItsFirstRow) {
  EXPECT_THAT(check({row("all", {100, 0, 0, 0}), row("country=US", {90, 0, 0, 0}), row("country=US", {150, 0, 0, 0})}),
              ::testing::IsEmpty());
}

TEST(SubsetCheck, SupersetsAreFoundAmongManyFiltersWhereCombinationsOutnumberTheCells) {
  // Ten filters: 2^10 ways to relax them, only three cells in the bucket, so the check compares
  // the cells pairwise instead of listing the combinations; the answer must be the same.
  const std::string many = "ad_name=a;ad_set_name=s;app_version=1;campaign_name=c;country=DE;locale=de;"
                           "media_source_name=m;model=x;os_version=17;sdk_version=8";
  EXPECT_THAT(summary(check({row(many, {150, 0, 0, 0}), row("campaign_name=c;country=EU", {100, 0, 0, 0}),
                             row("campaign_name=c;country=US", {10, 0, 0, 0}), row("locale=fr", {1, 0, 0, 0})})),
              ElementsAre("subset_exceeds_superset " + row(many, {}).segment + " clients_with_event 150 100"));
}

}  // namespace
}  // namespace qetl
