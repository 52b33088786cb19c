#pragma once
// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
// Jitter"): spreads retries of many cells so they do not return in lockstep.
namespace qetl {

struct BackoffPolicy {
  double base_seconds = 1.0;
  double cap_seconds = 60.0;
};

// The wait before attempt `next_attempt` (2 = first retry): uniform in
// [0, min(cap, base * 2^(next_attempt - 2))]. `unit_random` is in [0, 1).
double backoff_seconds(const BackoffPolicy& policy, int next_attempt, double unit_random);

}  // namespace qetl
