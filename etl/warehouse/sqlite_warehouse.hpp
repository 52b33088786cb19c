#pragma once
// The SQLite warehouse (SQLiteCpp stays inside sqlite_warehouse.cpp).
#include <chrono>
#include <memory>
#include <string>

#include "warehouse/warehouse.hpp"
#include "warehouse/warehouse_url.hpp"

namespace qetl {

// How long a write waits for another connection's write lock (a BI tool's long BEGIN IMMEDIATE)
// before it fails with SQLITE_BUSY, which ends the run as a warehouse error.
inline constexpr std::chrono::milliseconds kSqliteBusyTimeout{10'000};

// Opens (creating the file and its directory if needed) the database a sqlite: URL names (see
// sqlite_path_from_url), in WAL mode. Throws WarehouseError when it cannot.
// With WarehouseAccess::inspect: an existing file read-only, a missing one not created.
std::unique_ptr<Warehouse> open_sqlite_warehouse(const std::string& url,
                                                 WarehouseAccess access = WarehouseAccess::read_write,
                                                 std::chrono::milliseconds busy_timeout = kSqliteBusyTimeout);

}  // namespace qetl
