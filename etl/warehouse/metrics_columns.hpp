#pragma once
// The customer_metrics column list both backends build their SQL from, so the column order
// is written once (it must match sql/*/001_initial.sql; the warehouse tests compare them).
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

// Every column, in table order: the cell columns, one per dimension (kDimensions order), the
// nine metrics, fetched_at, run_id.
const std::vector<std::string>& metrics_columns();
// The unique key (project, environment, snapshot_at, window_name, window_from, segment).
const std::vector<std::string>& metrics_key_columns();
// metrics_columns() minus the key: what an upsert overwrites.
const std::vector<std::string>& metrics_update_columns();

// "a, b, c" with each item wrapped as prefix + item + suffix.
std::string join_columns(const std::vector<std::string>& columns, const std::string& prefix = "",
                         const std::string& suffix = "");

// The rows of one batch with duplicate keys collapsed, the last occurrence winning (as if each
// row were upserted in turn). PostgreSQL refuses a single INSERT ... ON CONFLICT that touches
// one key twice, so both backends write this list and report the same count.
std::vector<const MetricsRow*> last_row_per_key(const std::vector<MetricsRow>& rows);

// Shortest text that reads back as exactly `value` (std::to_chars).
std::string exact_double_text(double value);

}  // namespace qetl
