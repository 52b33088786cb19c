#include "api/answer.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "api/metrics_json.hpp"

namespace qetl {

std::optional<double> parse_retry_after(const std::string& value, UnixSeconds now) {
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (value.size() > 9) return std::nullopt;
    return std::stod(value);
  }
  // IMF-fixdate, the only HTTP-date form senders may generate (RFC 9110 5.6.7).
  char weekday[4] = {0}, month[4] = {0}, zone[4] = {0};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (std::sscanf(value.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s", weekday, &day, month, &year, &hh, &mm, &ss, zone) != 8 ||
      std::strcmp(zone, "GMT") != 0) {
    return std::nullopt;
  }
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 0; m < 12; ++m) {
    if (std::strcmp(month, kMonths[m]) == 0) {
      const UnixSeconds at = days_from_civil(CivilDate{year, m + 1, static_cast<unsigned>(day)}) * 86400 + hh * 3600 + mm * 60 + ss;
      return at > now ? static_cast<double>(at - now) : 0.0;
    }
  }
  return std::nullopt;
}

Answer interpret_answer(const HttpResult& result, UnixSeconds now) {
  Answer a;
  a.http_status = result.status;
  if (result.transport == TransportError::aborted) {
    a.kind = AnswerKind::aborted;
    a.message = "aborted: the run is stopping";
    return a;
  }
  if (result.transport != TransportError::none) {
    a.kind = result.transport == TransportError::tls ? AnswerKind::cell_rejected : AnswerKind::retryable;
    a.message = std::string(to_string(result.transport)) + ": " + result.transport_message;
    return a;
  }
  const long s = result.status;
  if (s == 200) {
    MetricsParse parsed = parse_metrics_body(result.body);
    if (parsed.metrics) {
      a.kind = AnswerKind::metrics;
      a.metrics = std::move(parsed.metrics);
    } else {
      a.kind = AnswerKind::retryable;
      a.message = "HTTP 200 with an unreadable body: " + parsed.error;
    }
    return a;
  }
  a.message = "HTTP " + std::to_string(s) + ": " + api_error_message(result.body);
  if (result.retry_after) a.retry_after_seconds = parse_retry_after(*result.retry_after, now);
  if (s == 429) {
    a.kind = AnswerKind::retryable;
    a.rate_limited = true;
  } else if (s >= 500 || s == 408) {
    a.kind = AnswerKind::retryable;
  } else if (s == 401 || s == 403) {
    a.kind = AnswerKind::key_rejected;
  } else if (s == 404) {
    a.kind = AnswerKind::wrong_base_url;
  } else {
    a.kind = AnswerKind::cell_rejected;
  }
  return a;
}

}  // namespace qetl
