#pragma once
// Config -> the ordered list of cells. Pure: no I/O, no clock (the snapshot is passed in).
#include <string>
#include <vector>

#include "config/config.hpp"
#include "matrix/cell.hpp"

namespace qetl {

// The snapshot time the run is about: `requested` (from --snapshot) or now, truncated to the
// configured grain.
UnixSeconds truncate_to_grain(UnixSeconds t, SnapshotGrain grain);

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
// deduplicated, in a deterministic order. Throws ConfigError when there are more than
// config.max_cells.
std::vector<Cell> expand_cells(const Config& config, UnixSeconds snapshot);

}  // namespace qetl
