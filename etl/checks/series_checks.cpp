#include "checks/series_checks.hpp"

#include <cmath>
#include <cstdio>

#include "checks/finding.hpp"

namespace qetl::checks_detail {
namespace {

std::string percent_text(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%+.1f %%", share * 100);
  return buffer;
}

// A cell's clients_with_event may only grow while the customers it counts are fixed: a fixed
// window keeps its start, and a cohort bucket closed at the previous snapshot had all its
// customers then. A rolling window drops its oldest day every night, and a status filter
// follows customers in and out, so neither says anything by falling.
bool must_not_fall(const CurrentCell& cell, const PreviousCell& previous) {
  if (cell.status_filtered || !cell.kind) return false;
  switch (*cell.kind) {
    case WindowKind::fixed: return true;
    case WindowKind::cohort: return cell.window_to <= previous.snapshot_at;
    case WindowKind::rolling: return false;
  }
  return false;
}

}  // namespace

SeriesKey series_of(const CurrentCell& cell) {
  SeriesKey key;
  key.project = cell.project;
  key.window_name = cell.window_name;
  key.segment = cell.segment;
  key.environment = cell.environment;
  if (cell.kind == WindowKind::cohort) key.cohort_from = cell.window_from;
  return key;
}

void find_series_changes(const CheckTables& tables, const CheckSettings& settings, const std::string& run_id,
                         std::vector<DataCheckFinding>& out) {
  for (const CurrentCell& cell : tables.current) {
    const auto found = tables.previous.find(series_of(cell));
    if (found == tables.previous.end() || found->second.snapshot_at >= cell.snapshot_at) continue;
    const PreviousCell& previous = found->second;
    const auto since = [&] { return format_iso8601(previous.snapshot_at); };  // for messages only
    const std::int64_t clients_before = previous.counts[kClientsWithEvent];

    if (cell.all_zero && clients_before > 0) {
      DataCheckFinding f = finding_for(tables, cell, run_id, kEmptyAfterNonempty, kSeverityError,
                                       kCountMetrics[kClientsWithEvent]);
      f.observed = 0.0;
      f.expected = static_cast<double>(clients_before);
      f.message = "every metric is 0; the previous snapshot (" + since() + ") had clients_with_event " +
                  number_text(*f.expected);
      out.push_back(std::move(f));
      continue;
    }

    bool decreased = false;
    if (cell.counts[kClientsWithEvent] < clients_before && must_not_fall(cell, previous)) {
      decreased = true;
      DataCheckFinding f = finding_for(tables, cell, run_id, kCountDecreased, kSeverityWarning,
                                       kCountMetrics[kClientsWithEvent]);
      f.observed = static_cast<double>(cell.counts[kClientsWithEvent]);
      f.expected = static_cast<double>(clients_before);
      f.message = "clients_with_event fell from " + number_text(*f.expected) + " (" + since() + ") to " +
                  number_text(*f.observed) +
                  (cell.kind == WindowKind::fixed ? ": a fixed window only ever gains customers"
                                                  : ": a cohort closed before then keeps its customers");
      out.push_back(std::move(f));
    }

    for (std::size_t m = 0; m < kCountMetrics.size(); ++m) {
      if (m == kClientsWithEvent && decreased) continue;
      const std::int64_t before = previous.counts[m];
      if (before < settings.min_count) continue;
      const double change = static_cast<double>(cell.counts[m]) - static_cast<double>(before);
      if (std::fabs(change) <= settings.max_change * static_cast<double>(before)) continue;
      DataCheckFinding f = finding_for(tables, cell, run_id, kLargeChange, kSeverityWarning, kCountMetrics[m]);
      f.observed = static_cast<double>(cell.counts[m]);
      f.expected = static_cast<double>(before);
      f.message = std::string(kCountMetrics[m]) + " moved from " + number_text(*f.expected) + " (" + since() + ") to " +
                  number_text(*f.observed) + " (" +
                  (before > 0 ? percent_text(change / static_cast<double>(before)) : std::string("from 0")) +
                  "), more than max_change " + number_text(settings.max_change * 100) + " %";
      out.push_back(std::move(f));
    }
  }
}

}  // namespace qetl::checks_detail
