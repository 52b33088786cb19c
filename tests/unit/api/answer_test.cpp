#include <gtest/gtest.h>

#include "api/answer.hpp"
#include "api/backoff.hpp"
#include "api/request_pacer.hpp"

namespace qetl {
namespace {

HttpResult http(long status, std::string body = "{}") {
  HttpResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(InterpretAnswer, MapsStatusesToWhatTheRunDoes) {
  EXPECT_EQ(interpret_answer(http(429), 0).kind, AnswerKind::retryable);
  EXPECT_TRUE(interpret_answer(http(429), 0).rate_limited);
  EXPECT_EQ(interpret_answer(http(500), 0).kind, AnswerKind::retryable);
  EXPECT_EQ(interpret_answer(http(503), 0).kind, AnswerKind::retryable);
  EXPECT_EQ(interpret_answer(http(400), 0).kind, AnswerKind::cell_rejected);
  EXPECT_EQ(interpret_answer(http(401), 0).kind, AnswerKind::key_rejected);
  EXPECT_EQ(interpret_answer(http(403), 0).kind, AnswerKind::key_rejected);
  EXPECT_EQ(interpret_answer(http(404), 0).kind, AnswerKind::wrong_base_url);
  EXPECT_EQ(interpret_answer(http(200, "not json"), 0).kind, AnswerKind::retryable);
}

TEST(InterpretAnswer, KeepsTheApisMessage) {
  const Answer a = interpret_answer(
      http(400, R"({"error": {"code": "validation_error", "message": "filter[country] invalid", "type": "request"}})"), 0);
  EXPECT_EQ(a.message, "HTTP 400: filter[country] invalid (validation_error)");
  EXPECT_EQ(a.http_status, 400);
}

TEST(InterpretAnswer, TransportFailuresAreRetriedButTlsIsNot) {
  HttpResult reset;
  reset.transport = TransportError::connection_reset;
  reset.transport_message = "Recv failure";
  EXPECT_EQ(interpret_answer(reset, 0).kind, AnswerKind::retryable);
  HttpResult tls;
  tls.transport = TransportError::tls;
  EXPECT_EQ(interpret_answer(tls, 0).kind, AnswerKind::cell_rejected);
}

TEST(RetryAfter, ReadsSecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after("120", 0), 120.0);
  // 2015-10-21 07:28:00 UTC = 1445412480
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10.0);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0.0);
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("", 0));
}

TEST(Backoff, GrowsExponentiallyUpToTheCapWithFullJitter) {
  const BackoffPolicy p{1.0, 8.0};
  EXPECT_EQ(backoff_seconds(p, 2, 0.999999), 0.999999);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 3, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 4, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 10, 0.5), 4.0);  // capped at 8
  EXPECT_EQ(backoff_seconds(p, 5, 0.0), 0.0);
}

TEST(RequestPacer, SpacesRequestsFromTheFirstOne) {
  RequestPacer pacer(30);  // one every 2 s
  const auto t0 = RequestPacer::Clock::now();
  EXPECT_TRUE(pacer.ready(t0));
  pacer.on_request_started(t0);
  EXPECT_FALSE(pacer.ready(t0 + std::chrono::milliseconds(1999)));
  EXPECT_TRUE(pacer.ready(t0 + std::chrono::milliseconds(2000)));
}

TEST(RequestPacer, HalvesOnRateLimitAndRecoversSlowly) {
  RequestPacer pacer(60);
  pacer.on_rate_limited(RequestPacer::Clock::now());
  EXPECT_DOUBLE_EQ(pacer.current_rate_per_minute(), 30);
  pacer.on_success();
  EXPECT_GT(pacer.current_rate_per_minute(), 30);
  EXPECT_LT(pacer.current_rate_per_minute(), 33);
  for (int i = 0; i < 100; ++i) pacer.on_success();
  EXPECT_DOUBLE_EQ(pacer.current_rate_per_minute(), 60);
}

}  // namespace
}  // namespace qetl
