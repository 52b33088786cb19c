// Snapshot truncation and window buckets, across month ends, year ends and leap days.
#include <gtest/gtest.h>

#include "matrix/matrix.hpp"

namespace qetl {
namespace {

UnixSeconds t(const char* iso) { return parse_utc_timestamp(iso); }

WindowConfig cohort(CalendarUnit unit, int count) {
  WindowConfig w;
  w.name = "c";
  w.kind = WindowKind::cohort;
  w.each = unit;
  w.count = count;
  return w;
}

using Buckets = std::vector<std::pair<std::string, std::string>>;

Buckets readable(const std::vector<WindowBucket>& buckets) {
  Buckets out;
  for (const WindowBucket& b : buckets) out.emplace_back(format_iso8601(b.from), format_iso8601(b.to));
  return out;
}

TEST(WindowTruncate, DayAndHour) {
  EXPECT_EQ(truncate_to_grain(t("2024-02-29T13:45:10Z"), SnapshotGrain::day), t("2024-02-29"));
  EXPECT_EQ(truncate_to_grain(t("2024-02-29T13:45:10Z"), SnapshotGrain::hour), t("2024-02-29T13:00:00"));
  EXPECT_EQ(truncate_to_grain(t("2024-02-29T00:00:00Z"), SnapshotGrain::day), t("2024-02-29"));
  EXPECT_EQ(truncate_to_grain(t("1969-12-31T23:30:00Z"), SnapshotGrain::day), t("1969-12-31"));
}

TEST(WindowFixed, FromUpToTheSnapshot) {
  WindowConfig w;
  w.kind = WindowKind::fixed;
  w.from = t("2015-01-01");
  EXPECT_EQ(readable(window_buckets(w, t("2024-03-01"))), (Buckets{{"2015-01-01T00:00:00Z", "2024-03-01T00:00:00Z"}}));
}

TEST(WindowFixed, FromNotBeforeTheSnapshotGivesNoBucket) {
  WindowConfig w;
  w.kind = WindowKind::fixed;
  w.from = t("2024-03-01");
  EXPECT_TRUE(window_buckets(w, t("2024-03-01")).empty());
  EXPECT_TRUE(window_buckets(w, t("2024-02-01")).empty());
  EXPECT_EQ(window_buckets(w, t("2024-03-01T00:00:01Z")).size(), 1u);
}

TEST(WindowRolling, LastBeforeTheSnapshot) {
  WindowConfig w;
  w.kind = WindowKind::rolling;
  w.last_seconds = 7 * 86400;
  EXPECT_EQ(readable(window_buckets(w, t("2024-03-02"))), (Buckets{{"2024-02-24T00:00:00Z", "2024-03-02T00:00:00Z"}}));
  w.last_seconds = 24 * 3600;
  EXPECT_EQ(readable(window_buckets(w, t("2024-01-01T05:00:00Z"))),
            (Buckets{{"2023-12-31T05:00:00Z", "2024-01-01T05:00:00Z"}}));
}

TEST(WindowCohortDay, EndsAtTheStartOfTheSnapshotDay) {
  const Buckets leap = {{"2024-02-27T00:00:00Z", "2024-02-28T00:00:00Z"},
                        {"2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z"},
                        {"2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"}};
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::day, 3), t("2024-03-01T10:00:00Z"))), leap);
  // A snapshot at midnight: the last bucket ends exactly at the snapshot.
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::day, 3), t("2024-03-01"))), leap);
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::day, 2), t("2023-03-01T05:00:00Z"))),
            (Buckets{{"2023-02-27T00:00:00Z", "2023-02-28T00:00:00Z"}, {"2023-02-28T00:00:00Z", "2023-03-01T00:00:00Z"}}));
}

TEST(WindowCohortDay, AcrossTheYearEnd) {
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::day, 2), t("2024-01-01T00:30:00Z"))),
            (Buckets{{"2023-12-30T00:00:00Z", "2023-12-31T00:00:00Z"}, {"2023-12-31T00:00:00Z", "2024-01-01T00:00:00Z"}}));
}

TEST(WindowCohortWeek, IsoWeeksStartOnMonday) {
  // 2024-03-03 is a Sunday: its week started on Monday 2024-02-26, the week before on the 19th.
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::week, 1), t("2024-03-03T23:00:00Z"))),
            (Buckets{{"2024-02-19T00:00:00Z", "2024-02-26T00:00:00Z"}}));
  // A week that holds 29 February 2024.
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::week, 1), t("2024-03-04"))),
            (Buckets{{"2024-02-26T00:00:00Z", "2024-03-04T00:00:00Z"}}));
}

TEST(WindowCohortWeek, AcrossTheYearEnd) {
  // 2025-01-01 is a Wednesday; ISO week 1 of 2025 began on Monday 2024-12-30.
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::week, 2), t("2025-01-01T12:00:00Z"))),
            (Buckets{{"2024-12-16T00:00:00Z", "2024-12-23T00:00:00Z"}, {"2024-12-23T00:00:00Z", "2024-12-30T00:00:00Z"}}));
  // 2021-01-04 is a Monday: the week 2020-12-28 .. 2021-01-03 straddles the year end.
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::week, 1), t("2021-01-04"))),
            (Buckets{{"2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z"}}));
}

TEST(WindowCohortMonth, CalendarMonthsOfUnequalLength) {
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::month, 3), t("2024-03-15T08:00:00Z"))),
            (Buckets{{"2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"},
                     {"2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"},
                     {"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}}));
  const auto leap = window_buckets(cohort(CalendarUnit::month, 1), t("2024-03-01"));
  ASSERT_EQ(leap.size(), 1u);
  EXPECT_EQ(leap[0].to - leap[0].from, 29 * 86400);
  const auto plain = window_buckets(cohort(CalendarUnit::month, 1), t("2023-03-31T23:59:59Z"));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(readable(plain), (Buckets{{"2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z"}}));
  EXPECT_EQ(plain[0].to - plain[0].from, 28 * 86400);
}

TEST(WindowCohortMonth, AcrossTheYearEndAndAtAMonthEnd) {
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::month, 2), t("2024-01-01"))),
            (Buckets{{"2023-11-01T00:00:00Z", "2023-12-01T00:00:00Z"}, {"2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"}}));
  EXPECT_EQ(readable(window_buckets(cohort(CalendarUnit::month, 1), t("2024-01-31T23:00:00Z"))),
            (Buckets{{"2023-12-01T00:00:00Z", "2024-01-01T00:00:00Z"}}));
  EXPECT_EQ(window_buckets(cohort(CalendarUnit::month, 14), t("2024-03-01")).front().from, t("2023-01-01"));
}

TEST(WindowKindText, Names) {
  EXPECT_STREQ(to_string(WindowKind::fixed), "fixed");
  EXPECT_STREQ(to_string(WindowKind::rolling), "rolling");
  EXPECT_STREQ(to_string(WindowKind::cohort), "cohort");
}

}  // namespace
}  // namespace qetl
