#include "matrix/filter_product.hpp"

#include <limits>

namespace qetl::matrix_detail {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kMax / a) return kMax;
  return a * b;
}
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) { return b > kMax - a ? kMax : a + b; }

const std::string& label_of(const std::optional<DimensionValue>& entry) {
  static const std::string kAll = "*";
  return entry ? entry->label : kAll;
}

}  // namespace

FilterProduct::FilterProduct(const Config& config) : dimensions_(config.matrix) {
  const std::size_t n = dimensions_.size();
  suffix_product_.assign(n + 1, 1);
  for (std::size_t d = n; d-- > 0;) suffix_product_[d] = saturating_mul(suffix_product_[d + 1], dimensions_[d].entries.size());

  for (const MatrixRule& exclude : config.excludes) {
    Rule rule;
    rule.entry.assign(n, kAny);
    bool can_match = true;
    for (const auto& [dimension, label] : exclude.fields) {
      std::size_t d = 0;
      while (d < n && dimensions_[d].dimension != dimension) ++d;
      if (d == n) {  // not in [matrix]: always unfiltered
        can_match = can_match && label == "*";
        continue;
      }
      const auto e = entry_index(d, label);
      if (!e) {
        can_match = false;
        continue;
      }
      rule.entry[d] = *e;
      rule.end = d + 1;
    }
    if (can_match) rules_.push_back(std::move(rule));
  }
}

std::optional<std::size_t> FilterProduct::entry_index(std::size_t dimension, const std::string& label) const {
  const auto& entries = dimensions_[dimension].entries;
  for (std::size_t e = 0; e < entries.size(); ++e) {
    if (label_of(entries[e]) == label) return e;
  }
  return std::nullopt;
}

std::vector<std::size_t> FilterProduct::narrow(const std::vector<std::size_t>& alive, std::size_t depth, std::size_t entry) const {
  std::vector<std::size_t> out;
  for (std::size_t r : alive) {
    const std::size_t wanted = rules_[r].entry[depth];
    if (wanted == kAny || wanted == entry) out.push_back(r);
  }
  return out;
}

// A rule still alive whose named dimensions all lie before `depth` matches everything below.
bool FilterProduct::excluded_at(const std::vector<std::size_t>& alive, std::size_t depth) const {
  for (std::size_t r : alive) {
    if (rules_[r].end <= depth) return true;
  }
  return false;
}

std::uint64_t FilterProduct::count_from(std::size_t depth, const std::vector<std::size_t>& alive) const {
  if (excluded_at(alive, depth)) return 0;
  if (alive.empty()) return suffix_product_[depth];
  std::uint64_t total = 0;
  for (std::size_t e = 0; e < dimensions_[depth].entries.size(); ++e) {
    total = saturating_add(total, count_from(depth + 1, narrow(alive, depth, e)));
  }
  return total;
}

void FilterProduct::visit_from(std::size_t depth, const std::vector<std::size_t>& alive, Choice& choice,
                               const std::function<void(const Choice&)>& visit) const {
  if (excluded_at(alive, depth)) return;
  if (depth == dimensions_.size()) {
    visit(choice);
    return;
  }
  for (std::size_t e = 0; e < dimensions_[depth].entries.size(); ++e) {
    choice[depth] = e;
    visit_from(depth + 1, narrow(alive, depth, e), choice, visit);
  }
}

std::uint64_t FilterProduct::count() const {
  std::vector<std::size_t> all(rules_.size());
  for (std::size_t r = 0; r < all.size(); ++r) all[r] = r;
  return count_from(0, all);
}

void FilterProduct::for_each(const std::function<void(const Choice&)>& visit) const {
  std::vector<std::size_t> all(rules_.size());
  for (std::size_t r = 0; r < all.size(); ++r) all[r] = r;
  Choice choice(dimensions_.size(), 0);
  visit_from(0, all, choice, visit);
}

std::optional<Choice> FilterProduct::find(const std::vector<std::pair<std::string, std::string>>& labels) const {
  Choice choice(dimensions_.size(), 0);
  for (std::size_t d = 0; d < dimensions_.size(); ++d) {
    std::string label = "*";
    for (const auto& [dimension, value] : labels) {
      if (dimension == dimensions_[d].dimension) label = value;
    }
    const auto e = entry_index(d, label);
    if (!e) return std::nullopt;
    choice[d] = *e;
  }
  for (const auto& [dimension, value] : labels) {
    bool in_matrix = false;
    for (const MatrixDimension& md : dimensions_) in_matrix = in_matrix || md.dimension == dimension;
    if (!in_matrix && value != "*") return std::nullopt;
  }
  for (const Rule& rule : rules_) {
    bool matches = true;
    for (std::size_t d = 0; d < choice.size(); ++d) matches = matches && (rule.entry[d] == kAny || rule.entry[d] == choice[d]);
    if (matches) return std::nullopt;
  }
  return choice;
}

}  // namespace qetl::matrix_detail
