#pragma once
// The rows the checks read, in compact form: every text is interned once, a cell keeps its
// keys as small ids and its four counts. Private to the checks module.
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "model/dimensions.hpp"
#include "util/time.hpp"

namespace qetl::checks_detail {

using Id = std::uint32_t;

// Each distinct text once; ids are dense, in order of first appearance.
class StringPool {
 public:
  Id intern(std::string_view text);
  std::optional<Id> find(std::string_view text) const;
  const std::string& text(Id id) const { return texts_[id]; }
  std::size_t size() const { return texts_.size(); }

 private:
  std::deque<std::string> texts_;  // a deque never moves its strings: the map's keys view them
  std::unordered_map<std::string_view, Id> ids_;
};

// The count metrics, in the order of Counts; the subset and change checks look at these only.
inline constexpr std::array<const char*, 4> kCountMetrics = {"clients_with_event", "active_subscribers",
                                                             "active_trials", "billing_retry"};
using Counts = std::array<std::int64_t, kCountMetrics.size()>;
inline constexpr std::size_t kClientsWithEvent = 0;

// One filter of a segment: a dimension (index into kDimensions) and its label (a names id).
struct LabelFilter {
  std::uint8_t dimension = 0;
  Id label = 0;
  bool operator==(const LabelFilter& o) const { return dimension == o.dimension && label == o.label; }
};
// A segment's filters, sorted by dimension; empty for "all".
using SegmentFilters = std::vector<LabelFilter>;

struct SegmentFiltersHash {
  std::size_t operator()(const SegmentFilters& filters) const;
};

// One row of the snapshot being checked.
struct CurrentCell {
  UnixSeconds snapshot_at = 0;
  UnixSeconds window_from = 0;
  UnixSeconds window_to = 0;
  Id project = 0;      // names id
  Id window_name = 0;  // names id
  Id segment = 0;      // segments id
  Id bucket = 0;       // (snapshot, project, environment, window_name, window_from): cells that check each other
  int environment = 1;
  std::optional<WindowKind> kind;  // nullopt: a kind this version does not know
  bool status_filtered = false;
  bool all_zero = false;  // all nine metrics are 0
  Counts counts{};
};

// The newest earlier row of one series.
struct PreviousCell {
  UnixSeconds snapshot_at = 0;
  Counts counts{};
};

// A series as the trend views follow it: cohort buckets are their own series (window_from
// kept), fixed and rolling windows one series whatever their bounds (window_from unset).
struct SeriesKey {
  Id project = 0;
  Id window_name = 0;
  Id segment = 0;
  int environment = 1;
  std::optional<UnixSeconds> cohort_from;
  bool operator==(const SeriesKey& o) const {
    return project == o.project && window_name == o.window_name && segment == o.segment &&
           environment == o.environment && cohort_from == o.cohort_from;
  }
};
struct SeriesKeyHash {
  std::size_t operator()(const SeriesKey& k) const;
};

// What DataChecks collects.
struct CheckTables {
  StringPool names;     // projects, window names, labels
  StringPool segments;  // segment texts
  // By segments id: the filters, for segments seen in a current row (previous rows do not need them).
  std::vector<std::optional<SegmentFilters>> segment_filters;
  std::vector<CurrentCell> current;
  // cell_key(bucket, segment) -> index into `current`: a bucket holds each segment once.
  std::unordered_map<std::uint64_t, std::uint32_t> cell_index;
  std::unordered_map<SeriesKey, PreviousCell, SeriesKeyHash> previous;
};

inline std::uint64_t cell_key(Id bucket, Id segment) { return (std::uint64_t{bucket} << 32) | segment; }

// Mixes `value` into `seed` (boost::hash_combine's constant, widened).
inline void hash_mix(std::size_t& seed, std::uint64_t value) {
  seed ^= static_cast<std::size_t>(value) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

}  // namespace qetl::checks_detail
