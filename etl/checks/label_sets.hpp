#pragma once
// What a filter label stands for, per dimension: a value is its own set, a group is its values.
// This is the per-dimension half of "cell A is a subset of cell B". Private to the checks module.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace qetl::checks_detail {

class LabelSets {
 public:
  // The groups of every [matrix] dimension, by name.
  explicit LabelSets(const Config& config);

  // True when filtering `dimension` on `outer` selects every customer that filtering it on
  // `inner` selects: the value set of `inner` is contained in that of `outer` (a group
  // contains each of its values and any group whose values it holds). `search` takes no
  // groups (the config refuses them), so a search contains only the same search.
  bool contains(std::size_t dimension, const std::string& outer, const std::string& inner) const;
  // True when `label` names a group of `dimension` in the config. Two different labels can
  // only contain one another when one of them is a group.
  bool is_group(std::size_t dimension, const std::string& label) const;

 private:
  const std::vector<std::string>* group(std::size_t dimension, const std::string& label) const;

  std::map<std::pair<std::size_t, std::string>, std::vector<std::string>> groups_;  // sorted values
};

}  // namespace qetl::checks_detail
