#pragma once
// What every kind of answer means for a run, in one table (failure_policy.cpp): whether the
// cell is stored, retried or failed, whether the project or the whole run stops, whether the
// answer proves the API alive (give-up) or throttled (pacing), and the exit code it leads to.
// Nothing else in the program decides what an answer means.
#include "util/errors.hpp"

namespace qetl {

// What one HTTP exchange came to, before any decision.
enum class AnswerKind {
  metrics,            // 2xx with the documented JSON body
  unreadable_body,    // 2xx whose body is not the documented JSON (HTML, truncated, ...)
  timeout,            // transport: the request timed out
  connect_failed,     // transport: refused, unreachable, DNS
  connection_reset,   // transport: the connection broke mid-answer
  tls_handshake,      // transport: TLS handshake failed
  tls_untrusted,      // transport: the certificate is not trusted
  body_too_large,     // transport: the answer passed the body cap
  transport_other,    // transport: anything else libcurl reports
  aborted,            // the run is stopping (a signal): not an answer at all
  redirect,           // 3xx
  bad_request,        // 400, and any 4xx not listed below
  key_rejected,       // 401, 403
  not_found,          // 404
  request_timeout,    // 408
  rate_limited,       // 429
  server_error,       // 5xx
  unexpected_status,  // 1xx or a status outside 100-599
};

enum class Verdict {
  store,         // the cell's row is written
  retry,         // the cell is tried again after a wait, up to max_attempts
  fail_cell,     // the cell fails for good; the run goes on
  stop_project,  // the project sends nothing more; the other projects finish
  stop_run,      // nothing more is sent; the run ends with `exit_code`
  ignore,        // not a result (the run is stopping)
};

struct FailurePolicy {
  AnswerKind kind;
  Verdict verdict;
  bool usable;        // the API answered something meaningful: resets the give-up clock
  bool throttled;     // lowers the key's request rate (one event per rate, see RequestPacer)
  ExitCode exit_code; // the run's exit code when this ends it (stop_project, stop_run)
  const char* why;    // for stop verdicts: what it means to an operator
};

const FailurePolicy& policy_for(AnswerKind kind);
const char* to_string(AnswerKind kind);

}  // namespace qetl
