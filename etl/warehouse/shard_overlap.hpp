#pragma once
// Which runs of one project may load side by side (SPEC "Behaviour under faults": one run at a
// time per cell). Pure, so the lock of both warehouses and the stale-run closing decide alike.
#include <string>

namespace qetl {

// True when two runs' shards ("K/N" for --shard K/N, "all" without) can hold a common cell.
// "all" overlaps everything; shards of one N overlap only when K is equal ("1/3" and "2/3" run
// side by side); shards of different N always overlap ("1/2" with "1/3", "2/4" with "1/2"):
// which cells fall in both depends on the slicing, and a lock must not bet on it. Text that is
// not one of these forms overlaps everything, so a mistake never lets two runs share a cell.
bool shards_overlap(const std::string& a, const std::string& b);

}  // namespace qetl
