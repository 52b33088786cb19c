#pragma once
// The [matrix] product minus the excludes, as choices of one entry per dimension. Counting
// prunes excluded subtrees and multiplies out subtrees no rule can reach, so the size of a
// huge matrix is known (for max_cells) without listing it. Private to the matrix module.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace qetl::matrix_detail {

// One index into MatrixDimension::entries per dimension of Config::matrix, in that order.
using Choice = std::vector<std::size_t>;

class FilterProduct {
 public:
  explicit FilterProduct(const Config& config);

  // Number of combinations that survive the excludes, saturating at UINT64_MAX.
  std::uint64_t count() const;
  // Calls `visit` for every surviving combination, outermost dimension first, entries in
  // config order.
  void for_each(const std::function<void(const Choice&)>& visit) const;

  // The choice that has these labels ("*" = unfiltered) for every dimension, if the product
  // contains it and no exclude drops it. Labels for dimensions not in [matrix] must be "*".
  std::optional<Choice> find(const std::vector<std::pair<std::string, std::string>>& labels) const;

 private:
  static constexpr std::size_t kAny = static_cast<std::size_t>(-1);
  struct Rule {
    std::vector<std::size_t> entry;  // per dimension: the entry it requires, or kAny
    std::size_t end = 0;             // one past the last dimension it names
  };

  std::optional<std::size_t> entry_index(std::size_t dimension, const std::string& label) const;
  std::vector<std::size_t> narrow(const std::vector<std::size_t>& alive, std::size_t depth, std::size_t entry) const;
  bool excluded_at(const std::vector<std::size_t>& alive, std::size_t depth) const;
  std::uint64_t count_from(std::size_t depth, const std::vector<std::size_t>& alive) const;
  void visit_from(std::size_t depth, const std::vector<std::size_t>& alive, Choice& choice,
                  const std::function<void(const Choice&)>& visit) const;

  const std::vector<MatrixDimension>& dimensions_;
  std::vector<Rule> rules_;                    // excludes that can match at all
  std::vector<std::uint64_t> suffix_product_;  // product of sizes from depth on, saturating
};

}  // namespace qetl::matrix_detail
