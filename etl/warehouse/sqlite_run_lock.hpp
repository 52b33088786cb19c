#pragma once
// The SQLite warehouse's run lock: flock() on files next to the database, not SQLite's own
// locks (which would block writers). The kernel drops a flock with its process, which no row in
// the database could do.
#include <memory>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

// Warehouse::try_lock_run for the database file `db_path`. Each holder of a (shard, project)
// lock holds a flock on <db>.run-lock.<shard>.<project> (names %-encoded) and writes its host,
// pid and start time into it; every file of a project whose flock is held is a live holder.
// The files of one project are inspected and extended under a flock on
// <db>.run-lock-mutex.<project>, held only for that moment, so two runs never both see the
// project free.
std::unique_ptr<RunLock> take_sqlite_run_lock(const std::string& db_path, const std::vector<std::string>& projects,
                                              const std::string& shard, const LockHolder& me);

}  // namespace qetl
