#include "checks/label_sets.hpp"

#include <algorithm>

#include "model/dimensions.hpp"

namespace qetl::checks_detail {

LabelSets::LabelSets(const Config& config) {
  for (const MatrixDimension& md : config.matrix) {
    const auto index = dimension_index(md.dimension);
    if (!index) continue;
    for (const auto& entry : md.entries) {
      if (!entry || !entry->is_group) continue;
      std::vector<std::string> sorted = entry->values;
      std::sort(sorted.begin(), sorted.end());
      groups_[{*index, entry->label}] = std::move(sorted);
    }
  }
}

const std::vector<std::string>* LabelSets::group(std::size_t dimension, const std::string& label) const {
  const auto found = groups_.find({dimension, label});
  return found == groups_.end() ? nullptr : &found->second;
}

bool LabelSets::is_group(std::size_t dimension, const std::string& label) const {
  return group(dimension, label) != nullptr;
}

bool LabelSets::contains(std::size_t dimension, const std::string& outer, const std::string& inner) const {
  if (outer == inner) return true;
  const std::vector<std::string>* outer_group = group(dimension, outer);
  const std::vector<std::string>* inner_group = group(dimension, inner);
  if (inner_group == nullptr) {  // another single value: only a group can hold it
    return outer_group != nullptr && std::binary_search(outer_group->begin(), outer_group->end(), inner);
  }
  if (outer_group == nullptr) {  // a group inside a single value: a group of just that value
    return inner_group->size() == 1 && inner_group->front() == outer;
  }
  return std::includes(outer_group->begin(), outer_group->end(), inner_group->begin(), inner_group->end());
}

}  // namespace qetl::checks_detail
