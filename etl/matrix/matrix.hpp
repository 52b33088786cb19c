#pragma once
// Config -> the ordered list of cells. Pure: no I/O, no clock (the snapshot is passed in).
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/snapshot_time.hpp"  // truncate_to_grain, resolve_snapshot
#include "matrix/cell.hpp"

namespace qetl {

// The longest segment text a cell may have. With project and window names of at most
// kMaxNameBytes each, the longest primary key of customer_metrics and etl_cell_failures stays
// below PostgreSQL's limit on a btree index row (2704 bytes with 8 kB pages); beyond it the
// row, and with it its whole batch, would be refused at write time.
inline constexpr std::size_t kMaxSegmentBytes = 2000;
inline constexpr std::size_t kPostgresIndexRowLimit = 2704;

struct WindowBucket {
  UnixSeconds from = 0;
  UnixSeconds to = 0;
};
// The [from, to) ranges one window asks for at `snapshot`: fixed and rolling give one,
// cohort windows give `count` calendar-aligned buckets ending at or before the snapshot,
// oldest first. A fixed window whose `from` is not before the snapshot gives no bucket (and so
// no cell) rather than an empty or inverted range.
std::vector<WindowBucket> window_buckets(const WindowConfig& window, UnixSeconds snapshot);

// Canonical segment text: "dimension=label" pairs sorted by dimension name, joined by ';';
// "all" when unfiltered. '%', ';' and '=' inside labels are percent-encoded.
std::string segment_text(const std::vector<CellFilter>& filters);

// Cells = projects x environments x window buckets x (matrix product - excludes + includes),
// deduplicated, in a deterministic order. Throws ConfigError (file:line:key) for a matrix that
// cannot make a good night at this snapshot: excludes that remove every combination, a window
// with no range (a fixed `from` not before the snapshot) or one starting before kEarliestTime,
// more than config.max_cells cells, or a segment longer than kMaxSegmentBytes. Every command
// that lists cells (plan, run, run --dry-run) goes through here.
std::vector<Cell> expand_cells(const Config& config, UnixSeconds snapshot);

}  // namespace qetl
