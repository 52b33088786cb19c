#include "runner/shard.hpp"

#include <algorithm>
#include <charconv>

#include "util/errors.hpp"

namespace qetl {

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard s;
  auto parse = [&](std::size_t from, std::size_t to, int& out) {
    const auto r = std::from_chars(text.data() + from, text.data() + to, out);
    return r.ec == std::errc() && r.ptr == text.data() + to;
  };
  if (slash == std::string::npos || !parse(0, slash, s.index) || !parse(slash + 1, text.size(), s.count) ||
      s.count < 1 || s.index < 1 || s.index > s.count) {
    throw UsageError("--shard takes K/N with 1 <= K <= N, e.g. 2/4; got '" + text + "'");
  }
  return s;
}

std::uint64_t cell_identity_hash(const Cell& cell) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xFF;  // field separator that cannot occur inside UTF-8 text
    h *= 1099511628211ULL;
  };
  mix(cell.project);
  mix(std::to_string(cell.environment));
  mix(cell.window_name);
  mix(std::to_string(cell.window_from));
  mix(cell.segment);
  return h;
}

std::vector<Cell> select_shard(std::vector<Cell> cells, const Shard& shard) {
  if (shard.count == 1) return cells;
  cells.erase(std::remove_if(cells.begin(), cells.end(),
                             [&](const Cell& c) {
                               return cell_identity_hash(c) % static_cast<std::uint64_t>(shard.count) !=
                                      static_cast<std::uint64_t>(shard.index - 1);
                             }),
              cells.end());
  return cells;
}

}  // namespace qetl
