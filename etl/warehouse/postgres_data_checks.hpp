#pragma once
// The data checks' reads and writes on PostgreSQL (Warehouse::visit_snapshot_rows,
// visit_previous_rows, replace_findings), inside the caller's transaction. Only postgres_*.cpp
// include this.
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

using RowVisitor = std::function<void(const MetricsRow&)>;

std::optional<UnixSeconds> pg_latest_snapshot(pqxx::transaction_base& tx, const std::vector<std::string>& projects);

void pg_visit_snapshot_rows(pqxx::transaction_base& tx, UnixSeconds snapshot_at,
                            const std::vector<std::string>& projects, const RowVisitor& visit);

// For each row of the snapshot, the newest earlier row of its series: one probe each, backwards
// through customer_metrics_series_idx (project, environment, window_name, segment, snapshot_at),
// so the cost follows the snapshot's size, not the history's (measured: about 4 buffer reads per
// series with 150 snapshots of 2,000 series). A cohort bucket is its own series (window_from
// equal), and no row of it is older than its own start, which bounds the walk for a new bucket.
void pg_visit_previous_rows(pqxx::transaction_base& tx, UnixSeconds snapshot_at,
                            const std::vector<std::string>& projects, const RowVisitor& visit);

void pg_replace_findings(pqxx::transaction_base& tx, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                         const std::string& run_id, const std::vector<DataCheckFinding>& findings);

}  // namespace qetl
