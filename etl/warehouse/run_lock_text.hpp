#pragma once
// What both warehouses' try_lock_run() share: the order locks are taken in, how a lock is
// named, and the message a refused run prints.
#include <optional>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

// `projects` sorted and without duplicates: every run takes its locks in the same order, so two
// runs never each hold a lock the other wants.
std::vector<std::string> lock_order(std::vector<std::string> projects);

// One run lock per (shard, project): "<shard>:<project>". The shard ("all" or "K/N") never
// holds ':', so the first ':' splits the name back.
std::string run_lock_name(const std::string& shard, const std::string& project);
struct RunLockName {
  std::string shard;
  std::string project;
};
std::optional<RunLockName> parse_run_lock_name(const std::string& name);

// The LockedError text: another run holds the lock for project "alpha" [shard 1/2] (host h1,
// pid 1234, started 2026-11-24T03:00:00Z). `shard` is the holder's. Without a holder (it has
// the lock but has not yet recorded itself) the parenthesis says so.
std::string locked_message(const std::string& project, const std::string& shard, const std::optional<LockHolder>& holder);

}  // namespace qetl
