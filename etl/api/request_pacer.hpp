#pragma once
// Spaces the requests of one project to its rate from the very first request (no burst that
// earns a 429), and adapts: a 429 halves the rate for the rest of the run, successes bring
// it back slowly (additive increase), never above the configured rate.
#include <chrono>

namespace qetl {

class RequestPacer {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RequestPacer(double requests_per_minute);

  // The earliest time the next request may start.
  Clock::time_point next_start() const { return next_start_; }
  bool ready(Clock::time_point now) const { return now >= next_start_; }
  // A request started at `now`: the next one waits a full interval from here.
  void on_request_started(Clock::time_point now);
  // The server said 429: halve the rate and hold every request until `not_before`
  // (now + Retry-After when it gave one).
  void on_rate_limited(Clock::time_point not_before);
  void on_success();

  double current_rate_per_minute() const { return rate_; }
  double configured_rate_per_minute() const { return configured_; }

 private:
  double interval_seconds() const { return 60.0 / rate_; }

  double configured_;
  double rate_;
  double floor_;
  Clock::time_point next_start_{};
};

}  // namespace qetl
