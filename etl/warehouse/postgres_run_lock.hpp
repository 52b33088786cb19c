#pragma once
// The SQL of the PostgreSQL run lock (Warehouse::try_lock_run). Each (shard, project) lock is a
// session-level advisory lock, so it dies with the job's connection; its holder is recorded in
// etl_run_locks, a row trusted only while its session still holds the advisory lock. A
// project's holders are inspected and extended under a per-project transaction-level advisory
// lock (the mutex), so two runs never both find a project free. Only postgres_*.cpp include this.
#include <pqxx/pqxx>
#include <string>

#include "warehouse/warehouse.hpp"

namespace qetl {

// Limits every wait of `tx` for a lock to the mutex's bound (a run stuck inside the mutex, e.g.
// a stopped process, must not make others wait forever); pg_unlimit_lock_wait lifts it again.
void pg_limit_lock_wait(pqxx::transaction_base& tx);
void pg_unlimit_lock_wait(pqxx::transaction_base& tx);

// Takes the (shard, project) lock of `schema` for `me` under the project's mutex, unless a live
// holder's shard overlaps `shard` (shards_overlap): then LockedError naming it, after `context`.
void pg_take_run_lock(pqxx::transaction_base& tx, const std::string& schema, const std::string& project,
                      const std::string& shard, const LockHolder& me, const std::string& context);

// Releases the lock `name` ("<shard>:<project>") if this session holds it, and forgets its row.
void pg_release_run_lock(pqxx::transaction_base& tx, const std::string& schema, const std::string& name);

}  // namespace qetl
