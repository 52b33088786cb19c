#pragma once
// Time as the run loop sees it. Everything time-dependent (pacing, backoff, give-up, batch age)
// asks a Clock rather than std::chrono directly, so tests run hours of simulated time in
// milliseconds and never sleep.
#include <chrono>

#include "util/time.hpp"

namespace qetl {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for every interval and deadline.
  virtual SteadyTime now() const = 0;
  // Wall time (UTC), for what is stored (fetched_at).
  virtual UnixSeconds unix_now() const = 0;
};

// The machine's clocks.
class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  UnixSeconds unix_now() const override { return now_utc(); }
};

// Seconds (possibly fractional, possibly huge) as a Duration, saturating instead of overflowing.
inline Duration seconds_as_duration(double s) {
  constexpr double kMax = 1e9;  // ~31 years: beyond any wait the job makes, far from overflow
  if (!(s > 0)) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s < kMax ? s : kMax));
}

inline double duration_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace qetl
