#pragma once
// The SQLite warehouse (SQLiteCpp stays inside sqlite_warehouse.cpp).
#include <memory>
#include <string>

#include "warehouse/warehouse.hpp"

namespace qetl {

// The file a sqlite: URL names:
//   sqlite:///abs/path.sqlite  -> /abs/path.sqlite  (empty authority, as in file:///)
//   sqlite:relative/path.sqlite -> relative/path.sqlite (relative to the working directory)
//   sqlite:/abs/path.sqlite    -> /abs/path.sqlite
// "sqlite://name/..." is refused with ConfigError: in URL syntax "name" is a host, and reading
// it as a relative path (as some tools do) or dropping it would both surprise someone. The path
// is taken literally (no %-decoding, no ~ expansion); an empty path is refused.
std::string sqlite_path_from_url(const std::string& url);

// Opens (creating the file and its directory if needed) the database a sqlite: URL names, in
// WAL mode with a 10 s busy timeout. Throws WarehouseError when it cannot.
// With WarehouseAccess::inspect: an existing file read-only, a missing one not created.
std::unique_ptr<Warehouse> open_sqlite_warehouse(const std::string& url,
                                                 WarehouseAccess access = WarehouseAccess::read_write);

}  // namespace qetl
