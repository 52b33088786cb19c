#include "warehouse/warehouse.hpp"

#include <string_view>

#include "util/errors.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"
#include "warehouse/warehouse_url.hpp"

namespace qetl {

std::unique_ptr<Warehouse> open_warehouse(const std::string& url, const std::string& schema, WarehouseAccess access) {
  if (auto problem = warehouse_url_problem(url)) throw ConfigError(*problem);
  if (url.compare(0, 7, "sqlite:") == 0) return open_sqlite_warehouse(url, access);
  // PostgreSQL writes nothing before migrate(), so inspecting is simply connecting.
  return open_postgres_warehouse(url, schema);
}

}  // namespace qetl
