// [[window]]: fixed (from), rolling (last) or cohort (each + count) first-seen ranges.
#include <stdexcept>

#include "config/config_sections.hpp"

namespace qetl::config_detail {
namespace {

constexpr std::int64_t kDaySeconds = 86400;
// Longer than any first-seen history; the start it gives is checked against kEarliestTime when
// the cells are made, with the snapshot known.
constexpr std::int64_t kMaxLastDays = 36525;  // 100 years

UnixSeconds from_seconds(const Scope& scope, const toml::node& node, const std::string& key) {
  if (const auto* s = node.as_string()) {
    try {
      return parse_utc_timestamp(s->get());
    } catch (const std::invalid_argument&) {
      fail(scope.at(node, key), in_quotes(s->get()) + " is not an ISO-8601 UTC date or date-time (e.g. \"2015-01-01\")");
    }
  }
  const auto civil_seconds = [](const toml::date& d) {
    return days_from_civil(CivilDate{d.year, d.month, d.day}) * kDaySeconds;
  };
  if (const auto* d = node.as_date()) return civil_seconds(d->get());
  if (const auto* dt = node.as_date_time()) {
    const toml::date_time& v = dt->get();
    // A local date-time (no offset) is read as UTC, like every time in this job.
    if (v.offset && v.offset->minutes != 0) fail(scope.at(node, key), "must be UTC (Z or no offset)");
    return civil_seconds(v.date) + v.time.hour * 3600 + v.time.minute * 60 + v.time.second;
  }
  fail(scope.at(node, key), "expected a date, a date-time or a string, got " + type_phrase(node));
}

UnixSeconds read_from(const Scope& scope, const toml::node& node, const std::string& key) {
  const UnixSeconds from = from_seconds(scope, node, key);
  if (from < kEarliestTime) {
    fail(scope.at(node, key), format_iso8601(from) + " is before " + format_iso8601(kEarliestTime) +
                                  ", the earliest first-seen time the job asks for");
  }
  return from;
}

// "7d", "24h", "2w" -> seconds.
std::int64_t read_last(const Scope& scope, const toml::node& node, const std::string& key) {
  const std::string text = expect_string(scope, node, key);
  const auto bad = [&]() { fail(scope.at(node, key), in_quotes(text) + " is not a duration such as \"24h\", \"7d\" or \"2w\""); };
  // At most 6 digits: a million weeks is far past any first-seen date and cannot overflow.
  if (text.size() < 2 || text.size() > 7) bad();
  std::int64_t amount = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') bad();
    amount = amount * 10 + (text[i] - '0');
  }
  const char unit = text.back();
  const std::int64_t unit_seconds = unit == 'h' ? 3600 : unit == 'd' ? kDaySeconds : unit == 'w' ? 7 * kDaySeconds : 0;
  if (unit_seconds == 0) bad();
  if (amount <= 0) fail(scope.at(node, key), "must be positive, got " + in_quotes(text));
  if (amount * unit_seconds > kMaxLastDays * kDaySeconds) {
    fail(scope.at(node, key), in_quotes(text) + " is longer than 100 years (" + std::to_string(kMaxLastDays) + "d)");
  }
  return amount * unit_seconds;
}

CalendarUnit read_each(const Scope& scope, const toml::node& node, const std::string& key) {
  const std::string text = expect_string(scope, node, key);
  if (text == "day") return CalendarUnit::day;
  if (text == "week") return CalendarUnit::week;
  if (text == "month") return CalendarUnit::month;
  fail(scope.at(node, key), "must be \"day\", \"week\" or \"month\", got " + in_quotes(text));
}

}  // namespace

std::vector<WindowConfig> read_windows(const Scope& scope, const toml::node& node) {
  const toml::array& array = expect_array_of_tables(scope, node, "window");
  if (array.empty()) fail(scope.at(node, "window"), "at least one [[window]] is required");
  std::vector<WindowConfig> windows;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array.get(i)->as_table();
    const std::string prefix = index_key("window", i);
    reject_unknown_keys(scope, table, prefix, {"name", "from", "last", "each", "count"});
    WindowConfig window;
    window.where = scope.at(table, prefix);

    const toml::node* name = table.get("name");
    if (name == nullptr) fail(scope.at(table, join_key(prefix, "name")), "missing required key");
    window.name = expect_name(scope, *name, join_key(prefix, "name"));
    for (const WindowConfig& earlier : windows) {
      if (earlier.name == window.name) {
        fail(scope.at(*name, join_key(prefix, "name")),
             "duplicate window name " + in_quotes(window.name) + " (also at line " + std::to_string(earlier.where.line) + ")");
      }
    }

    // Exactly one of from / last / each; reported at the second one in file order.
    const toml::key* kind_key = nullptr;
    for (const auto& [key, value] : entries_in_file_order(table)) {
      const std::string k(key->str());
      if (k != "from" && k != "last" && k != "each") continue;
      if (kind_key != nullptr) {
        fail(scope.at(*key, join_key(prefix, k)),
             "give only one of from, last or each (" + std::string(kind_key->str()) + " is also set)");
      }
      kind_key = key;
    }
    const toml::node* count = table.get("count");
    if (count != nullptr && table.get("each") == nullptr) {
      fail(scope.at(*count, join_key(prefix, "count")), "count is only valid with each = \"day\", \"week\" or \"month\"");
    }
    if (kind_key == nullptr) fail(window.where, "needs one of from (fixed), last (rolling) or each + count (cohorts)");
    window.bounds_where = scope.at(*kind_key, join_key(prefix, kind_key->str()));

    if (const toml::node* n = table.get("from")) {
      window.kind = WindowKind::fixed;
      window.from = read_from(scope, *n, join_key(prefix, "from"));
    } else if (const toml::node* n = table.get("last")) {
      window.kind = WindowKind::rolling;
      window.last_seconds = read_last(scope, *n, join_key(prefix, "last"));
    } else {
      window.kind = WindowKind::cohort;
      window.each = read_each(scope, *table.get("each"), join_key(prefix, "each"));
      if (count == nullptr) fail(scope.at(table, join_key(prefix, "count")), "missing required key (each needs count)");
      window.count = static_cast<int>(expect_integer_in(scope, *count, join_key(prefix, "count"), 1, 1000));
    }
    windows.push_back(std::move(window));
  }
  return windows;
}

}  // namespace qetl::config_detail
