#include "checks/data_checks.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

#include "checks/check_tables.hpp"
#include "checks/label_sets.hpp"
#include "checks/series_checks.hpp"
#include "checks/subset_check.hpp"

namespace qetl {
namespace {
using namespace checks_detail;

// The cells of one bucket are the ones the subset check compares.
struct BucketKey {
  UnixSeconds snapshot_at;
  UnixSeconds window_from;
  Id project;
  Id window_name;
  int environment;
  bool operator==(const BucketKey& o) const {
    return snapshot_at == o.snapshot_at && window_from == o.window_from && project == o.project &&
           window_name == o.window_name && environment == o.environment;
  }
};
struct BucketKeyHash {
  std::size_t operator()(const BucketKey& k) const {
    std::size_t seed = 0;
    hash_mix(seed, static_cast<std::uint64_t>(k.snapshot_at));
    hash_mix(seed, static_cast<std::uint64_t>(k.window_from));
    hash_mix(seed, (std::uint64_t{k.project} << 32) | k.window_name);
    hash_mix(seed, static_cast<std::uint32_t>(k.environment));
    return seed;
  }
};

std::optional<WindowKind> window_kind(const std::string& text) {
  if (text == "fixed") return WindowKind::fixed;
  if (text == "rolling") return WindowKind::rolling;
  if (text == "cohort") return WindowKind::cohort;
  return std::nullopt;
}

// A decimal as the API sent it ("0", "0.00", "-0.0e3") is zero when every digit of its
// mantissa is; text that is not a number is not zero.
bool decimal_is_zero(const std::string& text) {
  bool digit = false;
  for (char c : text) {
    if (c == 'e' || c == 'E') break;
    if (c == '0') {
      digit = true;
    } else if (c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return digit;
}

bool all_zero(const Metrics& m) {
  return m.clients_with_event == 0 && m.active_subscribers == 0 && m.active_trials == 0 && m.billing_retry == 0 &&
         m.churned_subscribers == 0 && m.canceled_trials == 0 && decimal_is_zero(m.avg_payment_count) &&
         decimal_is_zero(m.avg_price) && decimal_is_zero(m.sales);
}

Counts counts_of(const Metrics& m) {
  return {m.clients_with_event, m.active_subscribers, m.active_trials, m.billing_retry};
}

const std::size_t kStatus = *dimension_index("status");

}  // namespace

struct DataChecks::State {
  State(const Config& config, CheckSettings s) : settings(s), labels(config) {}
  CheckSettings settings;
  LabelSets labels;
  CheckTables tables;
  std::unordered_map<BucketKey, Id, BucketKeyHash> buckets;
};

DataChecks::DataChecks(const Config& config, CheckSettings settings)
    : state_(std::make_unique<State>(config, settings)) {}

DataChecks::~DataChecks() = default;

void DataChecks::add_current(const MetricsRow& row) {
  CheckTables& t = state_->tables;
  CurrentCell cell;
  cell.snapshot_at = row.snapshot_at;
  cell.window_from = row.window_from;
  cell.window_to = row.window_to;
  cell.project = t.names.intern(row.project);
  cell.window_name = t.names.intern(row.window_name);
  cell.segment = t.segments.intern(row.segment);
  cell.environment = row.environment;
  const BucketKey bucket{row.snapshot_at, row.window_from, cell.project, cell.window_name, row.environment};
  cell.bucket = state_->buckets.emplace(bucket, static_cast<Id>(state_->buckets.size())).first->second;
  const auto index = static_cast<std::uint32_t>(t.current.size());
  if (!t.cell_index.emplace(cell_key(cell.bucket, cell.segment), index).second) return;

  cell.kind = window_kind(row.window_kind);
  cell.status_filtered = row.dimensions[kStatus].has_value();
  cell.all_zero = all_zero(row.metrics);
  cell.counts = counts_of(row.metrics);
  t.current.push_back(cell);

  if (t.segment_filters.size() <= cell.segment) t.segment_filters.resize(cell.segment + 1);
  if (!t.segment_filters[cell.segment]) {
    SegmentFilters filters;
    for (std::size_t d = 0; d < kDimensionCount; ++d) {
      if (row.dimensions[d]) filters.push_back({static_cast<std::uint8_t>(d), t.names.intern(*row.dimensions[d])});
    }
    t.segment_filters[cell.segment] = std::move(filters);
  }
}

void DataChecks::add_previous(const MetricsRow& row) {
  CheckTables& t = state_->tables;
  SeriesKey key;
  key.project = t.names.intern(row.project);
  key.window_name = t.names.intern(row.window_name);
  key.segment = t.segments.intern(row.segment);
  key.environment = row.environment;
  if (window_kind(row.window_kind) == WindowKind::cohort) key.cohort_from = row.window_from;
  const PreviousCell cell{row.snapshot_at, counts_of(row.metrics)};
  const auto [it, inserted] = t.previous.emplace(key, cell);
  if (!inserted && it->second.snapshot_at < cell.snapshot_at) it->second = cell;
}

std::vector<DataCheckFinding> DataChecks::run(const std::string& run_id) const {
  std::vector<DataCheckFinding> findings;
  find_subset_violations(state_->tables, state_->labels, state_->settings.tolerance, run_id, findings);
  find_series_changes(state_->tables, state_->settings, run_id, findings);
  const auto order = [](const DataCheckFinding& f) {
    return std::make_tuple(f.severity != kSeverityError, std::cref(f.check_name), std::cref(f.project), f.environment,
                           std::cref(f.window_name), f.window_from, std::cref(f.segment), std::cref(f.metric));
  };
  std::sort(findings.begin(), findings.end(),
            [&](const DataCheckFinding& a, const DataCheckFinding& b) { return order(a) < order(b); });
  return findings;
}

}  // namespace qetl
