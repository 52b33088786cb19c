#pragma once
// The PostgreSQL warehouse (libpqxx stays inside postgres_warehouse.cpp).
#include <memory>
#include <string>
#include <string_view>

#include "warehouse/warehouse.hpp"
#include "warehouse/warehouse_url.hpp"

namespace qetl {

// `target` (a postgresql:// or postgres:// URI, or a conninfo string) with
// fallback_application_name=qonversion-etl added, so DBAs see the job in pg_stat_activity. The
// fallback form leaves an application_name the user set (or PGAPPNAME) in charge.
std::string with_application_name(const std::string& target);

// Connects, sets search_path to `schema` (quoted as an identifier) and prepares statements.
// The schema itself is created by migrate() when missing. A failed connection throws
// WarehouseError with the password masked and libpq's reason on one line.
std::unique_ptr<Warehouse> open_postgres_warehouse(const std::string& target, const std::string& schema);

}  // namespace qetl
