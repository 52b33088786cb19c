#include "api/request_pacer.hpp"

#include <algorithm>

namespace qetl {

RequestPacer::RequestPacer(double requests_per_minute)
    : configured_(requests_per_minute),
      rate_(requests_per_minute),
      // Never slower than one request a minute, or 1/20 of the configured rate if that is lower.
      floor_(std::min(requests_per_minute, std::max(1.0, requests_per_minute / 20))) {}

Duration RequestPacer::interval() const { return seconds_as_duration(60.0 / rate_); }

void RequestPacer::on_request_started(SteadyTime now) { next_start_ = std::max(next_start_, now + interval()); }

void RequestPacer::on_rate_limited(SteadyTime sent_at, SteadyTime now, Duration hold) {
  const bool same_event = last_drop_ && sent_at < *last_drop_;
  if (!same_event) {
    ceiling_ = std::min(ceiling_.value_or(rate_), rate_);
    rate_ = std::max(floor_, rate_ * kDecrease);
    last_drop_ = now;
    events_ += 1;
  }
  next_start_ = std::max({next_start_, now + hold, now + interval()});
}

void RequestPacer::on_success() {
  const double target = ceiling_ ? std::max(floor_, *ceiling_ * kCeilingMargin) : configured_;
  if (rate_ < target) rate_ = std::min(target, rate_ + configured_ * kRecoveryStep);
}

}  // namespace qetl
