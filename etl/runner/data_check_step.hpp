#pragma once
// The data checks as a step of `run` and the whole of `check` (SPEC "Data checks"): stream the
// snapshot's stored rows and each series' previous row from the warehouse into DataChecks,
// replace the snapshot's findings in etl_data_checks, log them, and say whether [checks]
// fail_on turns them into exit 65. A check never changes a stored value.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {

struct CheckReport {
  std::vector<DataCheckFinding> findings;
  // (check_name, severity) -> findings; every check of SPEC present, 0 when none (metrics file).
  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
  std::int64_t errors = 0;
  std::int64_t warnings = 0;
  bool fails = false;  // findings at or above [checks] fail_on: the run exits 65
};

// Checks the rows of `snapshot_at` stored for the config's projects (all of them, whichever run
// or shard stored them), records the findings under `run_id` and logs them: one warning line
// each, then one summary line past `max_log_lines`.
CheckReport check_snapshot(const Config& config, Warehouse& warehouse, UnixSeconds snapshot_at,
                           const std::string& run_id, std::size_t max_log_lines = 20);

// Whether findings of these severities fail a run under `fail_on` (pure).
bool findings_fail(ChecksFailOn fail_on, std::int64_t errors, std::int64_t warnings);

}  // namespace qetl
