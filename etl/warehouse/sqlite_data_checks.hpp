#pragma once
// The data checks' reads and writes on SQLite (Warehouse::visit_snapshot_rows,
// visit_previous_rows, replace_findings). Only sqlite_*.cpp include this.
#include <SQLiteCpp/SQLiteCpp.h>

#include <functional>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

using RowVisitor = std::function<void(const MetricsRow&)>;

std::optional<UnixSeconds> sqlite_latest_snapshot(SQLite::Database& db, const std::vector<std::string>& projects);

void sqlite_visit_snapshot_rows(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                const RowVisitor& visit);

// For each row of the snapshot, the newest earlier row of its series, in one statement: a
// correlated subquery per row reads customer_metrics_series_idx (project, environment,
// window_name, segment, snapshot_at) backwards from the snapshot. A cohort bucket is its own
// series (window_from equal), and no row of it is older than its own start, which bounds the
// walk for a bucket seen for the first time.
void sqlite_visit_previous_rows(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                const RowVisitor& visit);

// Inside the caller's transaction.
void sqlite_replace_findings(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                             const std::string& run_id, const std::vector<DataCheckFinding>& findings);

}  // namespace qetl
