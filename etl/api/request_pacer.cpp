#include "api/request_pacer.hpp"

#include <algorithm>

namespace qetl {

RequestPacer::RequestPacer(double requests_per_minute)
    : configured_(requests_per_minute), rate_(requests_per_minute), floor_(std::min(requests_per_minute, 1.0)) {}

void RequestPacer::on_request_started(Clock::time_point now) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_seconds()));
  next_start_ = std::max(next_start_, now + interval);
}

void RequestPacer::on_rate_limited(Clock::time_point not_before) {
  rate_ = std::max(floor_, rate_ / 2);
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_seconds()));
  next_start_ = std::max({next_start_, not_before, Clock::now() + interval});
}

void RequestPacer::on_success() {
  // Additive increase of 1/50 of the configured rate per success: after a halving the full
  // rate returns within ~25 requests, and a config that overestimates the server's limit
  // twice over meets a 429 only about once every dozen requests.
  rate_ = std::min(configured_, rate_ + configured_ / 50);
}

}  // namespace qetl
