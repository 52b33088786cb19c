#pragma once
// The snapshot a command is about: --snapshot or now, truncated to the configured grain, and
// refused when it is one no nightly run could have: a future snapshot would become every
// series' "latest" row, and one before 2000 is a typing mistake.
#include <optional>
#include <string>

#include "config/config.hpp"

namespace qetl {

// t truncated to the start of its UTC day or hour.
UnixSeconds truncate_to_grain(UnixSeconds t, SnapshotGrain grain);

// `arg` (ISO-8601 UTC date or date-time) or else `now`, truncated to `grain`. Throws UsageError
// (exit 64) naming --snapshot when `arg` is not a time, is later than the grain after the
// current one (a day ahead leaves room for a clock or a time zone), or is before
// kEarliestTime. `now` is passed in so that tests control the clock.
UnixSeconds resolve_snapshot(const std::optional<std::string>& arg, UnixSeconds now, SnapshotGrain grain);

}  // namespace qetl
