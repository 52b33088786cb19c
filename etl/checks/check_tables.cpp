#include "checks/check_tables.hpp"

#include <functional>

namespace qetl::checks_detail {

Id StringPool::intern(std::string_view text) {
  const auto found = ids_.find(text);
  if (found != ids_.end()) return found->second;
  const Id id = static_cast<Id>(texts_.size());
  texts_.emplace_back(text);
  ids_.emplace(texts_.back(), id);
  return id;
}

std::optional<Id> StringPool::find(std::string_view text) const {
  const auto found = ids_.find(text);
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

std::size_t SegmentFiltersHash::operator()(const SegmentFilters& filters) const {
  std::size_t seed = filters.size();
  for (const LabelFilter& f : filters) hash_mix(seed, (std::uint64_t{f.dimension} << 32) | f.label);
  return seed;
}

std::size_t SeriesKeyHash::operator()(const SeriesKey& k) const {
  std::size_t seed = 0;
  hash_mix(seed, (std::uint64_t{k.project} << 32) | k.window_name);
  hash_mix(seed, (std::uint64_t{k.segment} << 32) | static_cast<std::uint32_t>(k.environment));
  hash_mix(seed, k.cohort_from ? static_cast<std::uint64_t>(*k.cohort_from) : 0x8000000000000000ULL);
  return seed;
}

}  // namespace qetl::checks_detail
