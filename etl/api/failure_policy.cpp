#include "api/failure_policy.hpp"

#include <iterator>

namespace qetl {
namespace {

using V = Verdict;
using E = ExitCode;

// The failure table (SPEC "Behaviour under faults"). A give-up (no usable answer for
// give_up_after_seconds) ends a project with exit 69 when every project has given up.
constexpr FailurePolicy kPolicies[] = {
    // kind                          verdict         usable throttled exit code             why
    {AnswerKind::metrics,            V::store,        true,  false, E::ok,               ""},
    {AnswerKind::unreadable_body,    V::retry,        false, false, E::cells_failed,     ""},
    {AnswerKind::timeout,            V::retry,        false, false, E::api_unreachable,  ""},
    {AnswerKind::connect_failed,     V::retry,        false, false, E::api_unreachable,  ""},
    {AnswerKind::connection_reset,   V::retry,        false, false, E::api_unreachable,  ""},
    {AnswerKind::tls_handshake,      V::retry,        false, false, E::api_unreachable,  ""},
    // No later try can trust a certificate this one did not: stop before every cell repeats it.
    {AnswerKind::tls_untrusted,      V::stop_run,     false, false, E::api_unreachable,
     "the API's TLS certificate is not trusted: check api.base_url, or api.ca_file for a private CA"},
    {AnswerKind::body_too_large,     V::retry,        false, false, E::cells_failed,     ""},
    {AnswerKind::transport_other,    V::retry,        false, false, E::api_unreachable,  ""},
    {AnswerKind::aborted,            V::ignore,       false, false, E::ok,               ""},
    // A redirect means the base URL points somewhere else (a proxy's login page, an old host):
    // following it would send the key there.
    {AnswerKind::redirect,           V::stop_run,     true,  false, E::config,
     "the API answered with a redirect: api.base_url is wrong"},
    {AnswerKind::bad_request,        V::fail_cell,    true,  false, E::cells_failed,     ""},
    {AnswerKind::key_rejected,       V::stop_project, true,  false, E::api_key_rejected,
     "the project's API key was rejected"},
    {AnswerKind::not_found,          V::stop_run,     true,  false, E::config,
     "the API answered 404: api.base_url is wrong"},
    {AnswerKind::request_timeout,    V::retry,        false, false, E::cells_failed,     ""},
    {AnswerKind::rate_limited,       V::retry,        false, true,  E::cells_failed,     ""},
    {AnswerKind::server_error,       V::retry,        false, false, E::cells_failed,     ""},
    {AnswerKind::unexpected_status,  V::retry,        false, false, E::cells_failed,     ""},
};

}  // namespace

const FailurePolicy& policy_for(AnswerKind kind) {
  for (const FailurePolicy& p : kPolicies) {
    if (p.kind == kind) return p;
  }
  return kPolicies[std::size(kPolicies) - 1];  // unreachable: every kind has a row (tested)
}

const char* to_string(AnswerKind kind) {
  switch (kind) {
    case AnswerKind::metrics: return "metrics";
    case AnswerKind::unreadable_body: return "unreadable body";
    case AnswerKind::timeout: return "timeout";
    case AnswerKind::connect_failed: return "connect failed";
    case AnswerKind::connection_reset: return "connection reset";
    case AnswerKind::tls_handshake: return "TLS handshake failed";
    case AnswerKind::tls_untrusted: return "TLS certificate not trusted";
    case AnswerKind::body_too_large: return "body too large";
    case AnswerKind::transport_other: return "transfer failed";
    case AnswerKind::aborted: return "aborted";
    case AnswerKind::redirect: return "redirect";
    case AnswerKind::bad_request: return "bad request";
    case AnswerKind::key_rejected: return "key rejected";
    case AnswerKind::not_found: return "not found";
    case AnswerKind::request_timeout: return "request timeout";
    case AnswerKind::rate_limited: return "rate limited";
    case AnswerKind::server_error: return "server error";
    case AnswerKind::unexpected_status: return "unexpected status";
  }
  return "unexpected status";
}

}  // namespace qetl
