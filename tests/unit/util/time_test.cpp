#include <gtest/gtest.h>

#include "util/time.hpp"

namespace qetl {
namespace {

TEST(Time, ParsesDatesAndDateTimesAsUtc) {
  EXPECT_EQ(parse_utc_timestamp("1970-01-01"), 0);
  EXPECT_EQ(parse_utc_timestamp("2024-02-29"), 1709164800);
  EXPECT_EQ(parse_utc_timestamp("2024-02-29T13:45"), 1709164800 + 13 * 3600 + 45 * 60);
  EXPECT_EQ(parse_utc_timestamp("2024-02-29 13:45:10Z"), 1709164800 + 13 * 3600 + 45 * 60 + 10);
  EXPECT_EQ(parse_utc_timestamp("2024-02-29T00:00:00+00:00"), 1709164800);
}

TEST(Time, RejectsImpossibleDatesAndOtherZones) {
  EXPECT_THROW(parse_utc_timestamp("2023-02-29"), std::invalid_argument);
  EXPECT_THROW(parse_utc_timestamp("2024-13-01"), std::invalid_argument);
  EXPECT_THROW(parse_utc_timestamp("2024-01-01T25:00"), std::invalid_argument);
  EXPECT_THROW(parse_utc_timestamp("2024-01-01T10:00+02:00"), std::invalid_argument);
  EXPECT_THROW(parse_utc_timestamp("yesterday"), std::invalid_argument);
}

TEST(Time, FormatsForSqlAndLogs) {
  EXPECT_EQ(format_sql_timestamp(1709164800 + 3661), "2024-02-29 01:01:01");
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_sql_timestamp(-1), "1969-12-31 23:59:59");
  EXPECT_EQ(format_sql_timestamp(253402300799), "9999-12-31 23:59:59");
  EXPECT_EQ(format_sql_timestamp(4102444799), "2099-12-31 23:59:59");
}

TEST(Time, FloorsToCalendarUnits) {
  const UnixSeconds t = parse_utc_timestamp("2024-03-01T10:30:00");  // a Friday
  EXPECT_EQ(floor_to_day(t), parse_utc_timestamp("2024-03-01"));
  EXPECT_EQ(floor_to_hour(t), parse_utc_timestamp("2024-03-01T10:00"));
  EXPECT_EQ(floor_to_week(t), parse_utc_timestamp("2024-02-26"));  // Monday
  EXPECT_EQ(floor_to_month(t), parse_utc_timestamp("2024-03-01"));
  EXPECT_EQ(add_months(parse_utc_timestamp("2024-01-01"), -1), parse_utc_timestamp("2023-12-01"));
  EXPECT_EQ(add_months(parse_utc_timestamp("2024-11-01"), 3), parse_utc_timestamp("2025-02-01"));
}

TEST(Time, CivilRoundTripAcrossCenturies) {
  for (std::int64_t d = -800000; d <= 800000; d += 997) {
    EXPECT_EQ(days_from_civil(civil_from_days(d)), d);
  }
}

}  // namespace
}  // namespace qetl
