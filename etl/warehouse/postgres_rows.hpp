#pragma once
// Rows between the PostgreSQL warehouse and libpqxx: COPY tuples out, result rows back in, and
// what an error means. Only postgres_*.cpp include this (libpqxx stays with the backend).
#include <cstddef>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

// timestamptz input that does not depend on the session's TimeZone.
std::string pg_timestamp(UnixSeconds t);
std::optional<std::string> pg_timestamp(const std::optional<UnixSeconds>& t);

// The database refused the values, not the work: SQLSTATE class 22 (data exception: bad
// encoding, a NUL byte, a number it cannot read) or 23 (integrity constraint violation).
bool is_data_error(const pqxx::sql_error& e);

// COPYs rows [begin, end) of `rows` into `table` (a table LIKE customer_metrics), as text: the
// decimals reach numeric as the exact text the API sent, and the doubles as text that reads back
// to the same value. A NUL byte or invalid UTF-8 fails the COPY (it is never cut short).
void copy_metrics(pqxx::transaction_base& tx, const std::string& table, const std::vector<const MetricsRow*>& rows,
                  std::size_t begin, std::size_t end);
// INSERT INTO customer_metrics SELECT ... FROM `table` ON CONFLICT (key) DO UPDATE.
std::string upsert_metrics_from(const std::string& table);

// The same for etl_cell_failures rows.
void copy_failures(pqxx::transaction_base& tx, const std::string& table, const std::vector<CellFailure>& failures,
                   std::size_t begin, std::size_t end);
std::string upsert_failures_from(const std::string& table);
// The failures with duplicate cells collapsed, the last one winning: one INSERT ... ON CONFLICT
// may not touch a row twice.
std::vector<CellFailure> last_failure_per_cell(const std::vector<CellFailure>& failures);

// COPYs findings into etl_data_checks.
void copy_findings(pqxx::transaction_base& tx, const std::vector<DataCheckFinding>& findings);

// The select list that read_metrics_row() reads, for customer_metrics aliased `alias`:
// timestamps as Unix seconds, decimals as their exact text.
std::string metrics_select_list(const std::string& alias);
MetricsRow read_metrics_row(const pqxx::row& row);

}  // namespace qetl
