#pragma once
// Spaces the requests of one API key to its rate from the very first request (no burst that
// earns a 429), and adapts when the server says 429 anyway (after aws-sdk-cpp's adaptive retry
// strategy): the rate drops once per throttling *event* — answers to requests sent before the
// last drop belong to the event that caused it, so k answers in flight cost one drop, not k.
// The drop starts from the rate the server actually accepted lately (successes per second over
// the last few seconds) when that is lower than the rate sent: a client configured at twice the
// limit lands near the limit in one event instead of creeping down 10 % at a time. The rate
// that earned the 429 is remembered as a ceiling for the rest of the run; recovery climbs back
// towards just below it, never above, so a client configured at a strict server's exact limit
// settles a hair under it instead of oscillating across it. A lone 429 met at that aim after a
// long run of successes is the arrival jitter of a busy network, not a lower limit: it costs a
// short dip and 1 % of the ceiling, not the ceiling.
// Every method takes the time from the caller (tests drive it with simulated time).
#include <deque>
#include <optional>

#include "util/clock.hpp"

namespace qetl {

class RequestPacer {
 public:
  // Requests are spaced this much wider than the rate says: a strict server (no burst, no
  // tolerance) refuses a request that arrives a millisecond early, and the arrival times of
  // requests sent exactly one interval apart wander by that much (10 ms at 1 request a second).
  static constexpr double kSpacingMargin = 0.01;
  // An answer slower than the fastest delays the next request by its delay, up to this share of
  // the interval: enough for a queue's milliseconds, while a cell the server merely took longer
  // to compute (the delay was after arrival) costs a run at most this much.
  static constexpr double kMaxAnswerDelay = 0.05;
  // A 429 multiplies the rate by this (a small step: the limit is usually close).
  static constexpr double kDecrease = 0.9;
  // Recovery aims at this share of the ceiling, leaving room for arrival jitter at the server.
  static constexpr double kCeilingMargin = 0.95;
  // Each success climbs by this share of the configured rate.
  static constexpr double kRecoveryStep = 0.02;
  // The accepted rate is measured over the successes of the last this many configured intervals
  // (at least 10 s), and only trusted from two successes on.
  static constexpr double kMeasuredIntervals = 8;
  // Successes at the aimed rate after which a lone 429 counts as jitter, not a lower limit.
  static constexpr int kSettledSuccesses = 20;
  // ... and shaves this off the ceiling: recurring jitter widens the margin a little each time.
  static constexpr double kJitterShave = 0.99;

  explicit RequestPacer(double requests_per_minute);

  // The earliest time the next request may start.
  SteadyTime next_start() const { return next_start_; }
  bool ready(SteadyTime now) const { return now >= next_start_; }
  // A request started at `now`: the next one waits a full interval from here.
  void on_request_started(SteadyTime now);
  // The server answered 429 at `now` to a request started at `sent_at`; `hold` is the server's
  // Retry-After, already capped: no request of this key starts before now + hold.
  void on_rate_limited(SteadyTime sent_at, SteadyTime now, Duration hold);
  void on_success(SteadyTime now);
  // An answer arrived at `now` to a request that had to open its connection first. The server
  // counted that request when it arrived, after the handshake, not when it was sent; the next
  // request waits a full interval from this answer, or it arrives "early" and earns a 429 from
  // a strict server (every key's first request, and every reconnection).
  void on_answer_after_connecting(SteadyTime now);
  // An answer arrived at `now` to a request started at `sent_at` (on a connection already open).
  // A round trip longer than the fastest one seen may have been a queue on the way in: the
  // server then counted the request that much later, and the next one waits that much longer
  // (at most kMaxAnswerDelay of an interval).
  void on_answer(SteadyTime sent_at, SteadyTime now);

  double current_rate_per_minute() const { return rate_; }
  double configured_rate_per_minute() const { return configured_; }
  // The lowest rate that earned a 429 so far (none before the first).
  std::optional<double> ceiling_per_minute() const { return ceiling_; }
  int throttle_events() const { return events_; }

 private:
  Duration interval() const;
  // Successes per minute over the measuring window up to `now`, if there are enough of them.
  std::optional<double> accepted_rate(SteadyTime now) const;
  Duration window() const;
  // What recovery climbs towards: just below the ceiling, or the configured rate before any 429.
  double target() const;

  double configured_;
  double rate_;
  double floor_;
  std::optional<double> ceiling_;
  SteadyTime next_start_{};
  std::optional<SteadyTime> last_drop_;
  int events_ = 0;
  int successes_at_target_ = 0;
  std::optional<SteadyTime> first_request_;
  std::optional<Duration> fastest_round_trip_;
  std::deque<SteadyTime> successes_;  // those inside the measuring window, oldest first
};

}  // namespace qetl
