#pragma once
// The PostgreSQL warehouse (libpqxx stays inside the postgres_*.cpp files).
#include <memory>
#include <string>
#include <string_view>

#include "warehouse/warehouse.hpp"
#include "warehouse/warehouse_url.hpp"

namespace qetl {

// `target` (a postgresql:// or postgres:// URI, or a conninfo string) as the conninfo string
// libpq connects with: rebuilt from libpq's own reading of it (so nothing in a password can be
// mistaken for a separator), with fallback_application_name=qonversion-etl added so DBAs see the
// job in pg_stat_activity. The fallback form leaves an application_name the user set (or
// PGAPPNAME) in charge. Throws ConfigError when libpq cannot parse `target`.
std::string with_application_name(const std::string& target);

// Connects and sets search_path to `schema` (quoted as an identifier); the schema itself is
// created by migrate() when missing. A target warehouse_url_problem() refuses throws
// ConfigError; a failed connection throws WarehouseError with the password masked and libpq's
// reason on one line.
std::unique_ptr<Warehouse> open_postgres_warehouse(const std::string& target, const std::string& schema);

}  // namespace qetl
