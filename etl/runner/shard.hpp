#pragma once
// --shard K/N: a deterministic slice of the cells, by a stable hash of each cell's identity,
// so that N hosts can share one warehouse and every cell is in exactly one shard whatever
// the order of the matrix.
#include <cstdint>
#include <string>
#include <vector>

#include "matrix/cell.hpp"

namespace qetl {

struct Shard {
  int index = 1;  // K, 1-based
  int count = 1;  // N
};

// "K/N" with 1 <= K <= N; throws UsageError otherwise.
Shard parse_shard(const std::string& text);

// FNV-1a 64 over project, environment, window name, window start and segment.
std::uint64_t cell_identity_hash(const Cell& cell);

std::vector<Cell> select_shard(std::vector<Cell> cells, const Shard& shard);

}  // namespace qetl
