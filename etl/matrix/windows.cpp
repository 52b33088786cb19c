// The [from, to) ranges of each window kind.
#include "matrix/matrix.hpp"

namespace qetl {
namespace {
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kWeek = 7 * kDay;
}  // namespace

std::vector<WindowBucket> window_buckets(const WindowConfig& window, UnixSeconds snapshot) {
  std::vector<WindowBucket> buckets;
  switch (window.kind) {
    case WindowKind::fixed:
      if (window.from < snapshot) buckets.push_back({window.from, snapshot});
      break;
    case WindowKind::rolling:
      buckets.push_back({snapshot - window.last_seconds, snapshot});
      break;
    case WindowKind::cohort: {
      // The newest bucket is the last whole calendar unit: it ends where the unit containing
      // the snapshot starts, so a still-growing cohort is never asked for.
      buckets.reserve(static_cast<std::size_t>(window.count > 0 ? window.count : 0));
      for (int i = window.count; i >= 1; --i) {
        switch (window.each) {
          case CalendarUnit::day: {
            const UnixSeconds end = floor_to_day(snapshot);
            buckets.push_back({end - i * kDay, end - (i - 1) * kDay});
            break;
          }
          case CalendarUnit::week: {
            const UnixSeconds end = floor_to_week(snapshot);
            buckets.push_back({end - i * kWeek, end - (i - 1) * kWeek});
            break;
          }
          case CalendarUnit::month: {
            const UnixSeconds end = floor_to_month(snapshot);
            buckets.push_back({add_months(end, -i), add_months(end, -(i - 1))});
            break;
          }
        }
      }
      break;
    }
  }
  return buckets;
}

}  // namespace qetl
