#include "util/time.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace qetl {
namespace {
constexpr std::int64_t kDay = 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

int parse_digits(std::string_view s, std::size_t pos, std::size_t n, std::string_view whole) {
  if (pos + n > s.size()) throw std::invalid_argument("not an ISO-8601 UTC time: '" + std::string(whole) + "'");
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') throw std::invalid_argument("not an ISO-8601 UTC time: '" + std::string(whole) + "'");
    v = v * 10 + (s[i] - '0');
  }
  return v;
}
}  // namespace

std::int64_t days_from_civil(CivilDate date) {
  const int y = date.year - (date.month <= 2 ? 1 : 0);
  const std::int64_t era = floor_div(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = (date.month + 9) % 12;
  const unsigned doy = (153 * mp + 2) / 5 + date.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = floor_div(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(y), m, d};
}

UnixSeconds floor_to_day(UnixSeconds t) { return floor_div(t, kDay) * kDay; }
UnixSeconds floor_to_hour(UnixSeconds t) { return floor_div(t, 3600) * 3600; }

UnixSeconds floor_to_week(UnixSeconds t) {
  const std::int64_t days = floor_div(t, kDay);
  // 1970-01-01 was a Thursday; Monday-based weekday index is (days + 3) mod 7.
  const std::int64_t weekday = ((days + 3) % 7 + 7) % 7;
  return (days - weekday) * kDay;
}

UnixSeconds floor_to_month(UnixSeconds t) {
  CivilDate d = civil_from_days(floor_div(t, kDay));
  d.day = 1;
  return days_from_civil(d) * kDay;
}

UnixSeconds add_months(UnixSeconds month_start, int months) {
  CivilDate d = civil_from_days(floor_div(month_start, kDay));
  std::int64_t index = static_cast<std::int64_t>(d.year) * 12 + (d.month - 1) + months;
  CivilDate out{static_cast<int>(floor_div(index, 12)), static_cast<unsigned>(index - floor_div(index, 12) * 12) + 1, 1};
  return days_from_civil(out) * kDay;
}

UnixSeconds parse_utc_timestamp(std::string_view s) {
  const std::string_view whole = s;
  auto bad = [&]() { return std::invalid_argument("not an ISO-8601 UTC time: '" + std::string(whole) + "'"); };
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') throw bad();
  const int y = parse_digits(s, 0, 4, whole);
  const int mo = parse_digits(s, 5, 2, whole);
  const int d = parse_digits(s, 8, 2, whole);
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo))) throw bad();
  int hh = 0, mm = 0, ss = 0;
  std::size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    hh = parse_digits(s, pos + 1, 2, whole);
    if (pos + 3 >= s.size() || s[pos + 3] != ':') throw bad();
    mm = parse_digits(s, pos + 4, 2, whole);
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      ss = parse_digits(s, pos + 1, 2, whole);
      pos += 3;
    }
    if (hh > 23 || mm > 59 || ss > 59) throw bad();
  }
  const std::string_view rest = s.substr(pos);
  if (!(rest.empty() || rest == "Z" || rest == "+00:00" || rest == "+00")) throw bad();
  return days_from_civil(CivilDate{y, static_cast<unsigned>(mo), static_cast<unsigned>(d)}) * kDay + hh * 3600 + mm * 60 + ss;
}

std::string format_sql_timestamp(UnixSeconds t) {
  const std::int64_t days = floor_div(t, kDay);
  const std::int64_t secs = t - days * kDay;
  const CivilDate d = civil_from_days(days);
  if (d.year < 0 || d.year > 9999) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", d.year, d.month, d.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs % 3600 / 60), static_cast<int>(secs % 60));
    return buf;
  }
  // By hand, not snprintf: the loader formats four timestamps per row, and snprintf was a
  // tenth of its CPU time in the load benchmark.
  std::string out = "0000-00-00 00:00:00";
  auto two = [&out](std::size_t at, unsigned v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  const auto year = static_cast<unsigned>(d.year);
  two(0, year / 100);
  two(2, year % 100);
  two(5, d.month);
  two(8, d.day);
  two(11, static_cast<unsigned>(secs / 3600));
  two(14, static_cast<unsigned>(secs % 3600 / 60));
  two(17, static_cast<unsigned>(secs % 60));
  return out;
}

std::string format_iso8601(UnixSeconds t) {
  std::string s = format_sql_timestamp(t);
  s[10] = 'T';
  return s + "Z";
}

UnixSeconds now_utc() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace qetl
