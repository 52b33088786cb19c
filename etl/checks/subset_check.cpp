#include "checks/subset_check.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "checks/data_checks.hpp"
#include "checks/finding.hpp"

namespace qetl::checks_detail {
namespace {

constexpr Id kDropped = std::numeric_limits<Id>::max();  // a filter relaxed to "no filter"

std::uint64_t label_key(std::uint8_t dimension, Id label) { return (std::uint64_t{dimension} << 32) | label; }

// The segments of the current rows, and for each the other segments that contain it.
class SupersetFinder {
 public:
  SupersetFinder(const CheckTables& tables, const LabelSets& labels) : tables_(tables) {
    std::vector<std::vector<Id>> labels_of(kDimensionCount);
    for (Id s = 0; s < tables.segment_filters.size(); ++s) {
      if (!tables.segment_filters[s]) continue;
      known_.push_back(s);
      by_filters_.emplace(*tables.segment_filters[s], s);
      for (const LabelFilter& f : *tables.segment_filters[s]) labels_of[f.dimension].push_back(f.label);
    }
    for (std::uint8_t d = 0; d < kDimensionCount; ++d) {
      std::vector<Id>& present = labels_of[d];
      std::sort(present.begin(), present.end());
      present.erase(std::unique(present.begin(), present.end()), present.end());
      // Two different labels contain one another only when one is a group, so only pairs with
      // a group are compared: a long list of plain values costs nothing.
      std::vector<Id> groups;
      for (Id l : present) {
        if (labels.is_group(d, tables.names.text(l))) groups.push_back(l);
      }
      for (Id g : groups) {
        for (Id l : present) {
          if (l == g) continue;
          const std::string& group_text = tables.names.text(g);
          const std::string& label_text = tables.names.text(l);
          if (labels.contains(d, group_text, label_text)) wider_[label_key(d, l)].push_back(g);
          if (!labels.is_group(d, label_text) && labels.contains(d, label_text, group_text)) {
            wider_[label_key(d, g)].push_back(l);  // a group of one value inside that value
          }
        }
      }
    }
  }

  // The segments present that are proper supersets of `segment`, in no particular order.
  std::vector<Id> supersets_of(Id segment) const {
    const SegmentFilters& filters = *tables_.segment_filters[segment];
    std::vector<std::vector<Id>> options;  // per filter: itself, wider labels, dropped
    std::size_t combinations = 1;
    const std::size_t scan_cost = known_.size();
    for (const LabelFilter& f : filters) {
      std::vector<Id> choice{f.label};
      const auto wider = wider_.find(label_key(f.dimension, f.label));
      if (wider != wider_.end()) choice.insert(choice.end(), wider->second.begin(), wider->second.end());
      choice.push_back(kDropped);
      if (combinations <= scan_cost) combinations *= choice.size();
      options.push_back(std::move(choice));
    }
    std::vector<Id> out;
    if (combinations > scan_cost) {
      for (Id other : known_) {
        if (other != segment && is_subset(filters, *tables_.segment_filters[other])) out.push_back(other);
      }
      return out;
    }
    // Every combination of the options, as an odometer over their indices.
    std::vector<std::size_t> at(filters.size(), 0);
    SegmentFilters candidate;
    while (true) {
      candidate.clear();
      for (std::size_t i = 0; i < filters.size(); ++i) {
        if (options[i][at[i]] != kDropped) candidate.push_back({filters[i].dimension, options[i][at[i]]});
      }
      const auto found = by_filters_.find(candidate);
      if (found != by_filters_.end() && found->second != segment) out.push_back(found->second);
      std::size_t i = 0;
      while (i < at.size() && ++at[i] == options[i].size()) at[i++] = 0;
      if (i == at.size()) break;
    }
    return out;
  }

 private:
  // Every filter of `outer` is matched in `inner` by the same or a narrower label.
  bool is_subset(const SegmentFilters& inner, const SegmentFilters& outer) const {
    auto it = inner.begin();
    for (const LabelFilter& o : outer) {
      while (it != inner.end() && it->dimension < o.dimension) ++it;
      if (it == inner.end() || it->dimension != o.dimension) return false;
      if (it->label == o.label) continue;
      const auto wider = wider_.find(label_key(it->dimension, it->label));
      if (wider == wider_.end() || std::find(wider->second.begin(), wider->second.end(), o.label) == wider->second.end()) {
        return false;
      }
    }
    return true;
  }

  const CheckTables& tables_;
  std::vector<Id> known_;  // segments of current rows
  std::unordered_map<SegmentFilters, Id, SegmentFiltersHash> by_filters_;
  std::unordered_map<std::uint64_t, std::vector<Id>> wider_;  // label_key -> other labels containing it
};

struct Witness {
  const CurrentCell* superset = nullptr;
  double limit = 0;
};

}  // namespace

void find_subset_violations(const CheckTables& tables, const LabelSets& labels, double tolerance,
                            const std::string& run_id, std::vector<DataCheckFinding>& out) {
  const SupersetFinder finder(tables, labels);

  // Cells grouped by segment: the supersets of a segment are found once for all its buckets.
  std::vector<std::uint32_t> order(tables.current.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return tables.current[a].segment < tables.current[b].segment; });

  std::vector<Id> supersets;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const CurrentCell& cell = tables.current[order[i]];
    if (i == 0 || cell.segment != tables.current[order[i - 1]].segment) supersets = finder.supersets_of(cell.segment);

    std::array<Witness, kCountMetrics.size()> worst{};
    for (Id s : supersets) {
      const auto found = tables.cell_index.find(cell_key(cell.bucket, s));
      if (found == tables.cell_index.end()) continue;
      const CurrentCell& superset = tables.current[found->second];
      for (std::size_t m = 0; m < kCountMetrics.size(); ++m) {
        const double value = static_cast<double>(superset.counts[m]);
        const double limit = value + std::max(1.0, tolerance * value);
        if (static_cast<double>(cell.counts[m]) <= limit) continue;
        Witness& w = worst[m];
        if (w.superset == nullptr || superset.counts[m] < w.superset->counts[m] ||
            (superset.counts[m] == w.superset->counts[m] &&
             tables.segments.text(superset.segment) < tables.segments.text(w.superset->segment))) {
          w = {&superset, limit};
        }
      }
    }
    for (std::size_t m = 0; m < kCountMetrics.size(); ++m) {
      const Witness& w = worst[m];
      if (w.superset == nullptr) continue;
      DataCheckFinding f = finding_for(tables, cell, run_id, kSubsetExceedsSuperset, kSeverityError, kCountMetrics[m]);
      f.observed = static_cast<double>(cell.counts[m]);
      f.expected = static_cast<double>(w.superset->counts[m]);
      f.message = std::string(kCountMetrics[m]) + " " + number_text(*f.observed) + " is more than " +
                  number_text(*f.expected) + " in the superset cell " + tables.segments.text(w.superset->segment) +
                  " of the same snapshot and window (at most " + number_text(w.limit) + " allowed)";
      out.push_back(std::move(f));
    }
  }
}

}  // namespace qetl::checks_detail
