#pragma once
// What both warehouses' try_lock_run() share: the order locks are taken in and the message a
// refused run prints.
#include <optional>
#include <string>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

// `projects` sorted and without duplicates: every run takes its locks in the same order, so two
// runs never each hold a lock the other wants.
std::vector<std::string> lock_order(std::vector<std::string> projects);

// The LockedError text: another run holds the lock for project "alpha" [shard 1/2] (host h1,
// pid 1234, started 2026-11-24T03:00:00Z). Without a holder (it has the lock but has not yet
// recorded itself) the parenthesis says so.
std::string locked_message(const std::string& project, const std::string& shard, const std::optional<LockHolder>& holder);

}  // namespace qetl
