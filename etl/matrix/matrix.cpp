// expand_cells: projects x environments x window buckets x filter combinations.
#include <algorithm>
#include <limits>
#include <unordered_set>

#include "matrix/filter_product.hpp"
#include "matrix/matrix.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {
using matrix_detail::Choice;
using matrix_detail::FilterProduct;

// One filter combination, the same for every project, environment and window bucket.
struct Combination {
  CellFilters filters;  // sorted by dimension name; shared by every cell of the combination
  std::string segment;
  const MatrixRule* include = nullptr;  // the rule that added it, if it is not from the product
};

Combination make_combination(std::vector<CellFilter> filters) {
  std::sort(filters.begin(), filters.end(), [](const CellFilter& a, const CellFilter& b) { return a.dimension < b.dimension; });
  Combination c;
  c.segment = segment_text(filters);
  c.filters = std::move(filters);
  return c;
}

Combination from_choice(const Config& config, const Choice& choice) {
  std::vector<CellFilter> filters;
  for (std::size_t d = 0; d < choice.size(); ++d) {
    const auto& entry = config.matrix[d].entries[choice[d]];
    if (entry) filters.push_back(CellFilter{config.matrix[d].dimension, entry->label, entry->values});
  }
  return make_combination(std::move(filters));
}

// An include names a group of its dimension by the group's name, or else a single value.
Combination from_include(const Config& config, const MatrixRule& include) {
  std::vector<CellFilter> filters;
  for (const auto& [dimension, label] : include.fields) {
    if (label == "*") continue;
    CellFilter filter{dimension, label, {label}};
    for (const MatrixDimension& md : config.matrix) {
      if (md.dimension != dimension) continue;
      for (const auto& entry : md.entries) {
        if (entry && entry->is_group && entry->label == label) filter.values = entry->values;
      }
    }
    filters.push_back(std::move(filter));
  }
  return make_combination(std::move(filters));
}

// A location of the config, or the file itself for a Config built without load_config.
SourceLocation located(const Config& config, const SourceLocation& where, const std::string& key) {
  return where.file.empty() ? SourceLocation{config.path, 1, key} : where;
}

[[noreturn]] void refuse(const SourceLocation& where, const std::string& what) { throw ConfigError(where.str() + ": " + what); }

// Excludes that leave nothing are refused at the first rule that does it (a snapshot plays no
// part: the product is the same every night).
void refuse_empty_product(const Config& config) {
  Config partial;
  partial.path = config.path;
  partial.matrix = config.matrix;
  for (const MatrixRule& rule : config.excludes) {
    partial.excludes.push_back(rule);
    if (FilterProduct(partial).count() == 0) {
      refuse(located(config, rule.where, "matrix.exclude"),
             "with this rule the excludes remove every filter combination: the matrix has no cells");
    }
  }
  refuse(SourceLocation{config.path, 1, "matrix"}, "the matrix has no filter combination, so no cells");
}

// A window that asks for nothing, or for customers first seen before 2000, is a config mistake
// that would otherwise show only as a missing or odd series.
void check_buckets(const Config& config, const WindowConfig& window, const std::vector<WindowBucket>& buckets,
                   UnixSeconds snapshot) {
  const SourceLocation where = located(config, window.bounds_where, "window");
  if (buckets.empty()) {
    refuse(where, format_iso8601(window.from) + " is not before the snapshot " + format_iso8601(snapshot) +
                      ": the window has no first-seen range to ask for");
  }
  for (const WindowBucket& bucket : buckets) {
    if (bucket.from < kEarliestTime) {
      refuse(where, "starts at " + format_iso8601(bucket.from) + ", before " + format_iso8601(kEarliestTime) +
                        ", the earliest first-seen time the job asks for");
    }
  }
}

// The [matrix] dimension to shorten: the one with the longest label in the combination (the
// first in dimension order among equals).
SourceLocation longest_label_dimension(const Config& config, const Combination& combo) {
  const MatrixDimension* longest = nullptr;
  std::size_t longest_size = 0;
  for (const MatrixDimension& md : config.matrix) {
    for (const CellFilter& f : combo.filters) {
      if (f.dimension != md.dimension) continue;
      const std::size_t size = segment_text({f}).size() - f.dimension.size();  // '=' and the encoded label
      if (longest == nullptr || size > longest_size) {
        longest = &md;
        longest_size = size;
      }
    }
  }
  return longest != nullptr ? located(config, longest->where, "matrix." + longest->dimension)
                            : SourceLocation{config.path, 1, "matrix"};
}

void check_segment(const Config& config, const Combination& combo) {
  if (combo.segment.size() <= kMaxSegmentBytes) return;
  const SourceLocation where =
      combo.include != nullptr ? located(config, combo.include->where, "matrix.include") : longest_label_dimension(config, combo);
  refuse(where, "one filter combination makes a segment of " + std::to_string(combo.segment.size()) +
                    " bytes, more than the " + std::to_string(kMaxSegmentBytes) +
                    " a warehouse key can hold (PostgreSQL indexes at most " + std::to_string(kPostgresIndexRowLimit) +
                    " bytes per key, shared with the project and window names): shorten its values or group names");
}

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) { return (a != 0 && b > kMax / a) ? kMax : a * b; }
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) { return b > kMax - a ? kMax : a + b; }

}  // namespace

std::vector<Cell> expand_cells(const Config& config, UnixSeconds snapshot) {
  const FilterProduct product(config);

  // Includes the product does not already hold (nor an earlier include), in config order.
  std::vector<Combination> extra;
  std::unordered_set<std::string> extra_segments;
  for (const MatrixRule& include : config.includes) {
    if (product.find(include.fields)) continue;
    Combination c = from_include(config, include);
    c.include = &include;
    if (extra_segments.insert(c.segment).second) extra.push_back(std::move(c));
  }
  const std::uint64_t product_count = product.count();
  if (product_count == 0 && extra.empty()) refuse_empty_product(config);

  std::vector<std::vector<WindowBucket>> buckets;
  std::uint64_t bucket_count = 0;
  for (const WindowConfig& w : config.windows) {
    buckets.push_back(window_buckets(w, snapshot));
    check_buckets(config, w, buckets.back(), snapshot);
    bucket_count += buckets.back().size();
  }
  std::uint64_t environment_count = 0;
  for (const ProjectConfig& p : config.projects) environment_count += p.environments.size();

  // Sized before anything is built: a matrix of billions is refused in microseconds.
  const std::uint64_t combinations = saturating_add(product_count, extra.size());
  const std::uint64_t total = saturating_mul(saturating_mul(environment_count, bucket_count), combinations);
  if (total > static_cast<std::uint64_t>(config.max_cells)) {
    const bool saturated = total == kMax;
    refuse(located(config, config.max_cells_where, "max_cells"),
           std::string("the matrix expands to ") + (saturated ? "more than " : "") + std::to_string(total) +
                      " cells (" + std::to_string(environment_count) + " project environments x " +
                      std::to_string(bucket_count) + " window buckets x " +
                      (combinations == kMax ? "more than " : "") +
                      std::to_string(combinations) + " filter combinations), more than max_cells = " +
                      std::to_string(config.max_cells) + ": shrink the matrix or raise max_cells");
  }

  std::vector<Combination> combos;
  combos.reserve(static_cast<std::size_t>(combinations));
  product.for_each([&](const Choice& choice) { combos.push_back(from_choice(config, choice)); });
  for (Combination& c : extra) combos.push_back(std::move(c));
  for (const Combination& c : combos) check_segment(config, c);

  // Combinations are unique within a bucket; a bucket key seen twice (possible only in a
  // Config built without load_config's checks) would repeat all of them, so it is skipped.
  std::unordered_set<std::string> bucket_keys;
  std::vector<Cell> cells;
  cells.reserve(static_cast<std::size_t>(total));
  for (std::size_t p = 0; p < config.projects.size(); ++p) {
    const ProjectConfig& project = config.projects[p];
    for (int environment : project.environments) {
      for (std::size_t w = 0; w < config.windows.size(); ++w) {
        for (const WindowBucket& bucket : buckets[w]) {
          const std::string key = project.name + '\x1f' + std::to_string(environment) + '\x1f' + config.windows[w].name +
                                  '\x1f' + std::to_string(bucket.from);
          if (!bucket_keys.insert(key).second) continue;
          for (const Combination& combo : combos) {
            Cell cell;
            cell.project_index = p;
            cell.project = project.name;
            cell.environment = environment;
            cell.window_name = config.windows[w].name;
            cell.window_kind = config.windows[w].kind;
            cell.window_from = bucket.from;
            cell.window_to = bucket.to;
            cell.filters = combo.filters;
            cell.segment = combo.segment;
            cells.push_back(std::move(cell));
          }
        }
      }
    }
  }
  return cells;
}

}  // namespace qetl
