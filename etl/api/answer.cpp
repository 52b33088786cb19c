#include "api/answer.hpp"

#include "api/metrics_json.hpp"
#include "util/text.hpp"

namespace qetl {
namespace {

AnswerKind transport_kind(TransportError e) {
  switch (e) {
    case TransportError::none: return AnswerKind::metrics;
    case TransportError::timeout: return AnswerKind::timeout;
    case TransportError::connect_failed: return AnswerKind::connect_failed;
    case TransportError::connection_reset: return AnswerKind::connection_reset;
    case TransportError::tls_handshake: return AnswerKind::tls_handshake;
    case TransportError::tls_untrusted: return AnswerKind::tls_untrusted;
    case TransportError::body_too_large: return AnswerKind::body_too_large;
    case TransportError::aborted: return AnswerKind::aborted;
    case TransportError::other: return AnswerKind::transport_other;
  }
  return AnswerKind::transport_other;
}

}  // namespace

AnswerKind classify(const HttpResult& r) {
  if (r.transport != TransportError::none) return transport_kind(r.transport);
  const long s = r.status;
  if (s >= 200 && s <= 299) return AnswerKind::metrics;
  if (s >= 300 && s <= 399) return AnswerKind::redirect;
  if (s == 401 || s == 403) return AnswerKind::key_rejected;
  if (s == 404) return AnswerKind::not_found;
  if (s == 408) return AnswerKind::request_timeout;
  if (s == 429) return AnswerKind::rate_limited;
  if (s >= 400 && s <= 499) return AnswerKind::bad_request;
  if (s >= 500 && s <= 599) return AnswerKind::server_error;
  return AnswerKind::unexpected_status;
}

Answer read_answer(const HttpResult& r, std::string_view api_key) {
  Answer a;
  a.kind = classify(r);
  a.http_status = r.status;
  a.retry_after_seconds = r.retry_after_seconds;
  std::string message;
  if (r.transport != TransportError::none) {
    message = std::string(to_string(r.transport)) + ": " + r.transport_message;
  } else if (a.kind == AnswerKind::metrics) {
    MetricsParse parsed = parse_metrics_body(r.body);
    if (parsed.metrics) {
      a.metrics = std::move(parsed.metrics);
    } else {
      a.kind = AnswerKind::unreadable_body;
      message = "HTTP " + std::to_string(r.status) + " with an unreadable body: " + parsed.error;
    }
  } else if (a.kind == AnswerKind::redirect) {
    message = "HTTP " + std::to_string(r.status) + " redirect" +
              (r.location.empty() ? std::string() : " to " + r.location);
  } else {
    message = "HTTP " + std::to_string(r.status) + ": " + api_error_message(r.body);
  }
  a.message = clean_text(cut_out_secret(std::move(message), api_key), 500);
  return a;
}

}  // namespace qetl
