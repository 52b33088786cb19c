#pragma once
// Shared by the data-check tests: a config with groups, and rows written the way a reader
// thinks of them ("country=EU;target_platform=iOS" with its four counts).
#include <array>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "checks/data_checks.hpp"
#include "matrix/matrix.hpp"
#include "model/dimensions.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test {

inline const UnixSeconds kSnapshot = parse_utc_timestamp("2026-11-20");
inline const UnixSeconds kDay = 86400;

// EU holds DE, FR and IT; DE_FR holds DE and FR (a group inside a group); ONLY_DE is a group
// of one value, the same customers as DE.
inline const std::string kChecksConfig =
    "[[project]]\nname = \"app\"\napi_key = { env = \"K\" }\n"
    "[[window]]\nname = \"all_time\"\nfrom = \"2020-01-01\"\n"
    "[matrix]\n"
    "country = [\"*\", \"US\", \"DE\", \"FR\", \"IT\", { name = \"EU\", values = [\"DE\", \"FR\", \"IT\"] },\n"
    "           { name = \"DE_FR\", values = [\"FR\", \"DE\"] }, { name = \"ONLY_DE\", values = [\"DE\"] }]\n"
    "target_platform = [\"*\", \"iOS\", \"Android\"]\n"
    "search = [\"*\", \"gold\", \"silver\"]\n";

inline Config checks_config() { return parse_config(kChecksConfig, "checks.toml"); }

using Counts = std::array<std::int64_t, 4>;  // clients_with_event, active_subscribers, active_trials, billing_retry

// Where a row is: its snapshot and window bucket.
struct Where {
  UnixSeconds snapshot_at = kSnapshot;
  std::string project = "app";
  int environment = 1;
  std::string window_name = "all_time";
  std::string window_kind = "fixed";
  UnixSeconds window_from = parse_utc_timestamp("2020-01-01");
  UnixSeconds window_to = kSnapshot;
};

// A row of `filters` ("all" or "dimension=label;...", in any order) with these counts; the
// other five metrics are not 0, so only a row built by empty_row() is all zeros.
inline MetricsRow row(const std::string& filters, Counts counts, const Where& where = {}) {
  MetricsRow r;
  r.snapshot_at = where.snapshot_at;
  r.project = where.project;
  r.environment = where.environment;
  r.window_name = where.window_name;
  r.window_kind = where.window_kind;
  r.window_from = where.window_from;
  r.window_to = where.window_to;
  std::vector<CellFilter> parsed;
  if (filters != "all") {
    std::istringstream in(filters);
    std::string pair;
    while (std::getline(in, pair, ';')) {
      const auto eq = pair.find('=');
      const std::string dimension = pair.substr(0, eq);
      const std::string label = pair.substr(eq + 1);
      r.dimensions.at(*dimension_index(dimension)) = label;
      parsed.push_back({dimension, label, {label}});
    }
  }
  r.segment = segment_text(parsed);
  r.metrics.clients_with_event = counts[0];
  r.metrics.active_subscribers = counts[1];
  r.metrics.active_trials = counts[2];
  r.metrics.billing_retry = counts[3];
  r.metrics.churned_subscribers = 12.5;
  r.metrics.canceled_trials = 40;
  r.metrics.avg_payment_count = "1.5";
  r.metrics.avg_price = "9.99";
  r.metrics.sales = "1234.56";
  r.run_id = "r-test";
  return r;
}

// The classic silent empty night: every one of the nine metrics 0.
inline MetricsRow empty_row(const std::string& filters, const Where& where = {}) {
  MetricsRow r = row(filters, {0, 0, 0, 0}, where);
  r.metrics.churned_subscribers = 0;
  r.metrics.canceled_trials = 0;
  r.metrics.avg_payment_count = "0";
  r.metrics.avg_price = "0.00";
  r.metrics.sales = "0";
  return r;
}

// `where`, one day earlier: the same series the night before.
inline Where night_before(Where where) {
  where.snapshot_at -= kDay;
  if (where.window_kind != "cohort") where.window_to -= kDay;
  if (where.window_kind == "rolling") where.window_from -= kDay;
  return where;
}

// Runs the checks over `current` and `previous` with `settings`.
inline std::vector<DataCheckFinding> check(const std::vector<MetricsRow>& current,
                                           const std::vector<MetricsRow>& previous = {},
                                           CheckSettings settings = {}, const Config& config = checks_config()) {
  DataChecks checks(config, settings);
  for (const MetricsRow& r : current) checks.add_current(r);
  for (const MetricsRow& r : previous) checks.add_previous(r);
  return checks.run("r-check");
}

// "check_name segment metric observed expected" per finding: what a dashboard shows, in order.
inline std::vector<std::string> summary(const std::vector<DataCheckFinding>& findings) {
  std::vector<std::string> out;
  for (const DataCheckFinding& f : findings) {
    std::ostringstream s;
    s << f.check_name << ' ' << f.segment << ' ' << f.metric << ' ';
    if (f.observed) s << *f.observed; else s << '-';
    s << ' ';
    if (f.expected) s << *f.expected; else s << '-';
    out.push_back(s.str());
  }
  return out;
}

}  // namespace qetl::test

namespace qetl {
// How GoogleTest shows a finding in a failure: the columns a dashboard shows.
inline void PrintTo(const DataCheckFinding& f, std::ostream* os) {
  *os << "{" << f.check_name << "/" << f.severity << " " << f.project << "/" << f.environment << "/" << f.window_name
      << "@" << f.window_from << " " << f.segment << " " << f.metric << ": " << f.message << "}";
}
}  // namespace qetl
