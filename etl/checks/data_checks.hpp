#pragma once
// The data checks of SPEC "Data checks": pure (no I/O, no clock). The runner streams the
// snapshot's rows and each series' previous row in, as the warehouse visits them, and stores
// what run() finds. Rows are kept in a compact form (interned text, the four counts), not as
// MetricsRows, so a snapshot of 20,000 cells with 20,000 previous rows costs a few MiB.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {

// The thresholds of [checks] (SPEC "Config file"). The config loader validates them.
struct CheckSettings {
  // subset_exceeds_superset: a subset may exceed its superset by this share of the superset's
  // value, and always by 1 (cells of one night are fetched minutes or hours apart).
  double tolerance = 0.01;
  // large_change: a count moving by more than this share of its previous value ...
  double max_change = 0.5;
  // ... when that previous value was at least this.
  std::int64_t min_count = 100;
};

// The check names and severities as stored in etl_data_checks.check_name / severity.
inline constexpr const char* kSubsetExceedsSuperset = "subset_exceeds_superset";
inline constexpr const char* kEmptyAfterNonempty = "empty_after_nonempty";
inline constexpr const char* kCountDecreased = "count_decreased";
inline constexpr const char* kLargeChange = "large_change";
inline constexpr const char* kSeverityError = "error";
inline constexpr const char* kSeverityWarning = "warning";

class DataChecks {
 public:
  // The config's [matrix] tells which labels are groups and which values they hold: a row only
  // carries the label ("EU"), and the subset relation needs the values behind it. A label the
  // config does not know as a group of its dimension (config changed since the row was
  // stored) counts as a single value.
  DataChecks(const Config& config, CheckSettings settings);
  ~DataChecks();
  DataChecks(const DataChecks&) = delete;
  DataChecks& operator=(const DataChecks&) = delete;

  // A row of the snapshot being checked. A second row with the same cell key is ignored.
  void add_current(const MetricsRow& row);
  // A row of an earlier snapshot. For each series (project, environment, window_name, segment,
  // plus window_from for cohort windows, as in the trend views) the newest row older than the
  // current row is the one compared against, whatever order the rows arrive in.
  void add_previous(const MetricsRow& row);

  // Every finding, each carrying `run_id`, in a deterministic order whatever order the rows
  // arrived in: errors first (a log that stops after 20 lines shows them), then by check name,
  // cell (project, environment, window_name, window_from, segment) and metric.
  //
  // At most one finding per cell and metric for subset_exceeds_superset (the superset with
  // the smallest value among those exceeded, the starkest contradiction), and at most one per
  // cell and metric among the series checks: empty_after_nonempty (all nine metrics 0) stands
  // for the whole cell, so neither count_decreased nor large_change repeat it; count_decreased
  // already says clients_with_event fell, so large_change does not repeat it for that metric.
  std::vector<DataCheckFinding> run(const std::string& run_id) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qetl
