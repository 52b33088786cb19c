#pragma once
// One HTTP exchange read into what the run needs: its kind (see failure_policy.hpp for what
// each kind means), the metrics of a good answer, and a message fit to log and store. Pure, so
// every status and body the API (or a proxy in front of it) may send is unit-tested.
#include <optional>
#include <string>
#include <string_view>

#include "api/failure_policy.hpp"
#include "api/transport.hpp"
#include "model/metrics.hpp"

namespace qetl {

struct Answer {
  AnswerKind kind = AnswerKind::unexpected_status;
  std::optional<Metrics> metrics;  // for AnswerKind::metrics
  long http_status = 0;            // 0 when no answer arrived
  // One line of valid UTF-8 with the API key cut out (the API and proxies echo request paths),
  // e.g. "HTTP 400: filter[country] invalid (validation_error)".
  std::string message;
  std::optional<double> retry_after_seconds;  // the server's Retry-After, uncapped
};

// `api_key` is what the request carried in its path: cut out of every text taken from the answer.
Answer read_answer(const HttpResult& result, std::string_view api_key);

// The kind of an exchange from its transport error and status alone; a 2xx is `metrics` (the
// caller downgrades it when the body is unreadable).
AnswerKind classify(const HttpResult& result);

}  // namespace qetl
