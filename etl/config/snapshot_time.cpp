#include "config/snapshot_time.hpp"

#include <stdexcept>

#include "config/text_value.hpp"
#include "util/errors.hpp"

namespace qetl {

UnixSeconds truncate_to_grain(UnixSeconds t, SnapshotGrain grain) {
  return grain == SnapshotGrain::hour ? floor_to_hour(t) : floor_to_day(t);
}

UnixSeconds resolve_snapshot(const std::optional<std::string>& arg, UnixSeconds now, SnapshotGrain grain) {
  if (!arg) return truncate_to_grain(now, grain);
  // As typed, unless it holds control characters: the message stays one line.
  const std::string shown = text_problem(*arg).empty() ? *arg : quoted_for_message(*arg);
  UnixSeconds requested = 0;
  try {
    requested = parse_utc_timestamp(*arg);
  } catch (const std::invalid_argument&) {
    throw UsageError("--snapshot " + shown +
                     ": not an ISO-8601 UTC date or date-time (e.g. 2024-03-01 or 2024-03-01T06:00Z)");
  }
  const UnixSeconds snapshot = truncate_to_grain(requested, grain);
  const bool hourly = grain == SnapshotGrain::hour;
  const UnixSeconds latest = truncate_to_grain(now, grain) + (hourly ? 3600 : 86400);
  if (snapshot > latest) {
    throw UsageError("--snapshot " + shown + ": later than " + format_iso8601(latest) + ", the " +
                     (hourly ? "hour" : "day") +
                     " after the current one: a future snapshot would become every series' latest row");
  }
  if (requested < kEarliestTime) {
    throw UsageError("--snapshot " + shown + ": earlier than " + format_iso8601(kEarliestTime) +
                     ", the earliest snapshot the job takes");
  }
  return snapshot;
}

}  // namespace qetl
