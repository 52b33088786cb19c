#include "warehouse/shard_overlap.hpp"

#include <cctype>
#include <optional>
#include <string_view>

namespace qetl {
namespace {

struct Slice {
  unsigned long index = 0;
  unsigned long count = 0;
};

std::optional<unsigned long> number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  unsigned long n = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + static_cast<unsigned long>(c - '0');
  }
  return n;
}

// "K/N" with 1 <= K <= N; nullopt for "all" and anything else.
std::optional<Slice> slice(std::string_view shard) {
  const std::size_t slash = shard.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto k = number(shard.substr(0, slash));
  const auto n = number(shard.substr(slash + 1));
  if (!k || !n || *k < 1 || *k > *n) return std::nullopt;
  return Slice{*k, *n};
}

}  // namespace

bool shards_overlap(const std::string& a, const std::string& b) {
  const auto x = slice(a);
  const auto y = slice(b);
  if (!x || !y) return true;
  return x->count != y->count || x->index == y->index;
}

}  // namespace qetl
