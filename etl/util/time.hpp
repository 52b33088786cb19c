#pragma once
// UTC calendar arithmetic without the C library's time zone state (timegm/gmtime are
// not thread-safe with respect to TZ and vary across libcs).
#include <cstdint>
#include <string>
#include <string_view>

namespace qetl {

using UnixSeconds = std::int64_t;

struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

// Days since 1970-01-01 for a proleptic Gregorian date, and back (H. Hinnant's algorithms).
std::int64_t days_from_civil(CivilDate date);
CivilDate civil_from_days(std::int64_t days);

UnixSeconds floor_to_day(UnixSeconds t);
UnixSeconds floor_to_hour(UnixSeconds t);
// Monday 00:00 UTC of the ISO week containing t.
UnixSeconds floor_to_week(UnixSeconds t);
// First day of the month containing t, 00:00 UTC.
UnixSeconds floor_to_month(UnixSeconds t);
// The first of the month `months` months after the month that starts at t (may be negative).
UnixSeconds add_months(UnixSeconds month_start, int months);

// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS", with 'T' or ' ' and an
// optional trailing "Z" or "+00:00". Anything else (including a non-UTC offset or an
// impossible date such as 2023-02-29) throws std::invalid_argument.
UnixSeconds parse_utc_timestamp(std::string_view text);

// "YYYY-MM-DD HH:MM:SS", the SQLite storage form and a valid PostgreSQL timestamptz literal
// once "+00" is appended.
std::string format_sql_timestamp(UnixSeconds t);
// "YYYY-MM-DDTHH:MM:SSZ", for logs and the command line.
std::string format_iso8601(UnixSeconds t);

UnixSeconds now_utc();

}  // namespace qetl
