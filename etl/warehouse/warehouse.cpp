#include "warehouse/warehouse.hpp"

#include <string_view>

#include "util/errors.hpp"
#include "util/mask.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace qetl {
namespace {

using Opener = std::unique_ptr<Warehouse> (*)(const std::string& url, const std::string& schema, WarehouseAccess access);

struct Backend {
  std::string_view prefix;  // matched case-sensitively, as libpq does
  Opener open;
};

std::unique_ptr<Warehouse> open_sqlite(const std::string& url, const std::string& /*schema: n/a*/,
                                       WarehouseAccess access) {
  return open_sqlite_warehouse(url, access);
}

// PostgreSQL writes nothing before migrate(), so inspecting is simply connecting.
std::unique_ptr<Warehouse> open_postgres(const std::string& url, const std::string& schema, WarehouseAccess) {
  return open_postgres_warehouse(url, schema);
}

// URL scheme -> backend. A libpq conninfo string has no scheme; it is recognised separately.
constexpr Backend kBackends[] = {
    {"sqlite:", open_sqlite},
    {"postgresql://", open_postgres},
    {"postgres://", open_postgres},
};

constexpr const char* kValidForms =
    "sqlite:///absolute/path.sqlite, sqlite:relative/path.sqlite, postgresql://user@host/dbname "
    "(or postgres://...), or a libpq conninfo string such as 'host=db.internal dbname=analytics'";

}  // namespace

std::unique_ptr<Warehouse> open_warehouse(const std::string& url, const std::string& schema, WarehouseAccess access) {
  for (const Backend& b : kBackends) {
    if (url.compare(0, b.prefix.size(), b.prefix) == 0) return b.open(url, schema, access);
  }
  if (is_pg_conninfo(url)) return open_postgres_warehouse(url, schema);
  if (url.empty()) throw ConfigError(std::string("warehouse.url is empty: use ") + kValidForms);
  throw ConfigError("unsupported warehouse URL '" + mask_warehouse_url(url) + "': use " + kValidForms);
}

}  // namespace qetl
