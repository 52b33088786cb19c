#pragma once
// empty_after_nonempty, count_decreased and large_change (SPEC "Data checks"): each current cell
// against the previous row of its series. Private to the checks module.
#include <string>
#include <vector>

#include "checks/check_tables.hpp"
#include "checks/data_checks.hpp"

namespace qetl::checks_detail {

// A cell with no previous row of its series (a new series, the first night) is not checked.
// At most one finding per cell and metric: empty_after_nonempty stands for the whole cell;
// count_decreased replaces large_change for clients_with_event.
void find_series_changes(const CheckTables& tables, const CheckSettings& settings, const std::string& run_id,
                         std::vector<DataCheckFinding>& out);

// The series a current cell belongs to.
SeriesKey series_of(const CurrentCell& cell);

}  // namespace qetl::checks_detail
