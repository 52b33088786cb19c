#include "warehouse/warehouse.hpp"

#include <string_view>

#include "util/errors.hpp"
#include "util/mask.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace qetl {
namespace {

using Opener = std::unique_ptr<Warehouse> (*)(const std::string& url, const std::string& schema);

struct Backend {
  std::string_view prefix;  // matched case-sensitively, as libpq does
  Opener open;
};

std::unique_ptr<Warehouse> open_sqlite(const std::string& url, const std::string& /*schema: n/a*/) {
  return open_sqlite_warehouse(url);
}

// URL scheme -> backend. A libpq conninfo string has no scheme; it is recognised separately.
constexpr Backend kBackends[] = {
    {"sqlite:", open_sqlite},
    {"postgresql://", open_postgres_warehouse},
    {"postgres://", open_postgres_warehouse},
};

constexpr const char* kValidForms =
    "sqlite:///absolute/path.sqlite, sqlite:relative/path.sqlite, postgresql://user@host/dbname "
    "(or postgres://...), or a libpq conninfo string such as 'host=db.internal dbname=analytics'";

}  // namespace

std::unique_ptr<Warehouse> open_warehouse(const std::string& url, const std::string& schema) {
  for (const Backend& b : kBackends) {
    if (url.compare(0, b.prefix.size(), b.prefix) == 0) return b.open(url, schema);
  }
  if (is_pg_conninfo(url)) return open_postgres_warehouse(url, schema);
  if (url.empty()) throw ConfigError(std::string("warehouse.url is empty: use ") + kValidForms);
  throw ConfigError("unsupported warehouse URL '" + mask_warehouse_url(url) + "': use " + kValidForms);
}

}  // namespace qetl
