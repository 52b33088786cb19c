#include "api/request_pacer.hpp"

#include <algorithm>

namespace qetl {

RequestPacer::RequestPacer(double requests_per_minute)
    : configured_(requests_per_minute),
      rate_(requests_per_minute),
      // Never slower than one request a minute, or 1/20 of the configured rate if that is lower.
      floor_(std::min(requests_per_minute, std::max(1.0, requests_per_minute / 20))) {}

Duration RequestPacer::interval() const { return seconds_as_duration(60.0 / rate_ * (1 + kSpacingMargin)); }

void RequestPacer::on_request_started(SteadyTime now) {
  if (!first_request_) first_request_ = now;
  next_start_ = std::max(next_start_, now + interval());
}

Duration RequestPacer::window() const {
  return seconds_as_duration(std::max(10.0, kMeasuredIntervals * 60.0 / configured_));
}

void RequestPacer::on_rate_limited(SteadyTime sent_at, SteadyTime now, Duration hold) {
  const bool same_event = last_drop_ && sent_at < *last_drop_;
  if (!same_event) {
    // A 429 after a long run of successes at the rate recovery aims for is the server's arrival
    // jitter around its limit: the ceiling only loses a hair. Sooner, or below that aim, the limit
    // is lower than the ceiling says: lower it to the rate that earned the 429.
    const bool settled = ceiling_ && rate_ >= target() * (1 - 1e-9) && successes_at_target_ >= kSettledSuccesses;
    if (settled) {
      ceiling_ = *ceiling_ * kJitterShave;  // jitter that keeps recurring widens the margin slowly
    } else {
      ceiling_ = std::min(ceiling_.value_or(rate_), rate_);
    }
    successes_at_target_ = 0;
    rate_ = std::max(floor_, std::min(rate_, accepted_rate(now).value_or(rate_)) * kDecrease);
    last_drop_ = now;
    events_ += 1;
  }
  next_start_ = std::max({next_start_, now + hold, now + interval()});
}

std::optional<double> RequestPacer::accepted_rate(SteadyTime now) const {
  // After a long pause (a Retry-After) the window holds too little to say anything.
  const auto recent = std::count_if(successes_.begin(), successes_.end(),
                                    [&](SteadyTime t) { return t >= now - window(); });
  if (recent < 2 || !first_request_) return std::nullopt;
  const double span = duration_seconds(now - std::max(*first_request_, now - window()));
  if (span <= 0) return std::nullopt;
  return static_cast<double>(recent) * 60.0 / span;
}

void RequestPacer::on_answer_after_connecting(SteadyTime now) { next_start_ = std::max(next_start_, now + interval()); }

void RequestPacer::on_answer(SteadyTime sent_at, SteadyTime now) {
  const Duration round_trip = now - sent_at;
  if (!fastest_round_trip_ || round_trip < *fastest_round_trip_) fastest_round_trip_ = round_trip;
  const Duration delay = std::min<Duration>(round_trip - *fastest_round_trip_,
                                            std::chrono::duration_cast<Duration>(interval() * kMaxAnswerDelay));
  next_start_ = std::max(next_start_, sent_at + interval() + delay);
}

double RequestPacer::target() const {
  return ceiling_ ? std::max(floor_, *ceiling_ * kCeilingMargin) : configured_;
}

void RequestPacer::on_success(SteadyTime now) {
  successes_.push_back(now);
  while (!successes_.empty() && successes_.front() < now - window()) successes_.pop_front();
  if (rate_ < target()) {
    rate_ = std::min(target(), rate_ + configured_ * kRecoveryStep);
  } else {
    successes_at_target_ += 1;
  }
}

}  // namespace qetl
