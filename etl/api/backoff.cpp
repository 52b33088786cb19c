#include "api/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace qetl {

double backoff_seconds(const BackoffPolicy& policy, int next_attempt, double unit_random) {
  const int exponent = std::clamp(next_attempt - 2, 0, 30);
  const double ceiling = std::min(policy.cap_seconds, policy.base_seconds * std::ldexp(1.0, exponent));
  return std::clamp(unit_random, 0.0, 1.0) * ceiling;
}

}  // namespace qetl
