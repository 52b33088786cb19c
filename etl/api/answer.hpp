#pragma once
// What one HTTP exchange means for its cell: stored, retried, failed, or the end of the
// project's run. Pure, so every status and body the API may send is unit-tested.
#include <optional>
#include <string>

#include "api/http_client.hpp"
#include "model/metrics.hpp"
#include "util/time.hpp"

namespace qetl {

enum class AnswerKind {
  metrics,         // 200 with a readable body
  retryable,       // 429, 5xx, 408, transport failures, unreadable 200 bodies
  cell_rejected,   // 400 and other 4xx: this cell's request is wrong; retrying cannot help
  key_rejected,    // 401/403: the project's key is wrong; stop the project
  wrong_base_url,  // 404: the endpoint does not exist; stop the run
  aborted,         // the run is stopping
};

struct Answer {
  AnswerKind kind = AnswerKind::retryable;
  std::optional<Metrics> metrics;
  long http_status = 0;  // 0 when no answer arrived
  std::string message;   // one line, no secrets (the caller redacts transport text)
  bool rate_limited = false;
  std::optional<double> retry_after_seconds;  // from a Retry-After header
};

Answer interpret_answer(const HttpResult& result, UnixSeconds now);

// Retry-After as delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"),
// relative to `now`; nullopt when unreadable. Never negative.
std::optional<double> parse_retry_after(const std::string& value, UnixSeconds now);

}  // namespace qetl
