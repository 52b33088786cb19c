#include "warehouse/postgres_run_lock.hpp"

#include <optional>
#include <vector>

#include "warehouse/postgres_rows.hpp"
#include "warehouse/run_lock_text.hpp"
#include "warehouse/shard_overlap.hpp"

namespace qetl {
namespace {

// The first key of every run lock's advisory lock pair is hashtext() of this + the schema, so
// locks of different schemas (or other applications' one-key locks) never meet.
constexpr const char* kRunLockSpace = "qonversion-etl run ";
constexpr const char* kRunMutexSpace = "qonversion-etl run mutex ";
// The mutex is held for milliseconds.
constexpr const char* kMutexTimeout = "10s";

struct LiveHolder {
  std::string shard;
  LockHolder holder;
};

// The holders of `project`'s locks whose session still holds the advisory lock: a killed run's
// row stays behind, but its lock went with its session.
std::vector<LiveHolder> live_holders(pqxx::transaction_base& tx, const std::string& schema, const std::string& project) {
  const pqxx::result r = tx.exec_params(
      "SELECT l.lock_name, l.host, l.pid, EXTRACT(EPOCH FROM l.started_at)::bigint FROM etl_run_locks l "
      "WHERE substr(l.lock_name, strpos(l.lock_name, ':') + 1) = $2 "
      "AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks k "
      "WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid AND k.objsubid = 2 "
      "AND k.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
      "AND k.classid = (pg_catalog.hashtext($1)::bigint & 4294967295)::oid "
      "AND k.objid = (pg_catalog.hashtext(l.lock_name)::bigint & 4294967295)::oid)",
      kRunLockSpace + schema, project);
  std::vector<LiveHolder> live;
  for (const auto& row : r) {
    const std::optional<RunLockName> name = parse_run_lock_name(row[0].as<std::string>());
    if (!name || name->project != project) continue;
    LockHolder h;
    h.host = row[1].as<std::string>();
    h.pid = row[2].as<std::int64_t>();
    h.started_at = row[3].as<UnixSeconds>();
    live.push_back({name->shard, h});
  }
  return live;
}

// Session-level: the lock stays when the transaction commits (or aborts) and goes when the
// session ends, however the job ends. Records `me` as the holder when it got the lock.
bool try_advisory_lock(pqxx::transaction_base& tx, const std::string& schema, const std::string& name,
                       const LockHolder& me) {
  const bool got = tx.exec_params1("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext($1), "
                                   "pg_catalog.hashtext($2))",
                                   kRunLockSpace + schema, name)[0]
                       .as<bool>();
  if (got) {
    tx.exec_params0(
        "INSERT INTO etl_run_locks (lock_name, host, pid, started_at, backend_pid, locked_at) "
        "VALUES ($1, $2, $3, $4, pg_catalog.pg_backend_pid(), now()) ON CONFLICT (lock_name) DO UPDATE SET "
        "host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, "
        "backend_pid = EXCLUDED.backend_pid, locked_at = EXCLUDED.locked_at",
        name, me.host, me.pid, pg_timestamp(me.started_at));
  }
  return got;
}

}  // namespace

void pg_limit_lock_wait(pqxx::transaction_base& tx) {
  tx.exec0(std::string("SET LOCAL lock_timeout = '") + kMutexTimeout + "'");
}

void pg_unlimit_lock_wait(pqxx::transaction_base& tx) { tx.exec0("SET LOCAL lock_timeout = DEFAULT"); }

void pg_take_run_lock(pqxx::transaction_base& tx, const std::string& schema, const std::string& project,
                      const std::string& shard, const LockHolder& me, const std::string& context) {
  tx.exec_params("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext($1), pg_catalog.hashtext($2))",
                 kRunMutexSpace + schema, project);
  for (const LiveHolder& other : live_holders(tx, schema, project)) {
    if (shards_overlap(other.shard, shard)) throw LockedError(context + locked_message(project, other.shard, other.holder));
  }
  // Free by the registry, yet taken: only a run that ignores the mutex (an older version).
  if (!try_advisory_lock(tx, schema, run_lock_name(shard, project), me)) {
    throw LockedError(context + locked_message(project, shard, std::nullopt));
  }
}

void pg_release_run_lock(pqxx::transaction_base& tx, const std::string& schema, const std::string& name) {
  tx.exec_params("SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext($1), pg_catalog.hashtext($2))",
                 kRunLockSpace + schema, name);
  tx.exec_params0("DELETE FROM etl_run_locks WHERE lock_name = $1 AND backend_pid = pg_catalog.pg_backend_pid()",
                  name);
}

}  // namespace qetl
