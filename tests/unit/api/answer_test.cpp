#include <gtest/gtest.h>

#include <set>

#include "api/answer.hpp"
#include "api/backoff.hpp"
#include "api/failure_policy.hpp"
#include "api/metrics_json.hpp"
#include "api/request_pacer.hpp"
#include "util/text.hpp"

namespace qetl {
namespace {

using namespace std::chrono_literals;

const std::string kKey = "key_alpha_0123456789";

HttpResult http(long status, std::string body = "{}") {
  HttpResult r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResult transport(TransportError e) {
  HttpResult r;
  r.transport = e;
  r.transport_message = "simulated";
  return r;
}

constexpr const char* kGoodBody =
    R"({"data":{"clientsWithEvent":5,"activeSubscribers":2,"churnedSubscribers":1,"activeTrials":1,)"
    R"("canceledTrials":0,"billingRetry":0,"avgPaymentCount":1,"avgPrice":9.99,"sales":10}})";

TEST(FailurePolicy, EveryKindHasExactlyOneRow) {
  for (int k = 0; k <= static_cast<int>(AnswerKind::unexpected_status); ++k) {
    const auto kind = static_cast<AnswerKind>(k);
    EXPECT_EQ(policy_for(kind).kind, kind) << to_string(kind);
  }
}

TEST(FailurePolicy, SaysWhatEachAnswerMeansForTheRun) {
  EXPECT_EQ(policy_for(AnswerKind::metrics).verdict, Verdict::store);
  EXPECT_EQ(policy_for(AnswerKind::rate_limited).verdict, Verdict::retry);
  EXPECT_TRUE(policy_for(AnswerKind::rate_limited).throttled);
  EXPECT_FALSE(policy_for(AnswerKind::rate_limited).usable);
  EXPECT_EQ(policy_for(AnswerKind::server_error).verdict, Verdict::retry);
  EXPECT_EQ(policy_for(AnswerKind::bad_request).verdict, Verdict::fail_cell);
  EXPECT_TRUE(policy_for(AnswerKind::bad_request).usable);
  EXPECT_EQ(policy_for(AnswerKind::key_rejected).verdict, Verdict::stop_project);
  EXPECT_EQ(policy_for(AnswerKind::key_rejected).exit_code, ExitCode::api_key_rejected);
  EXPECT_EQ(policy_for(AnswerKind::not_found).verdict, Verdict::stop_run);
  EXPECT_EQ(policy_for(AnswerKind::not_found).exit_code, ExitCode::config);
  EXPECT_EQ(policy_for(AnswerKind::redirect).verdict, Verdict::stop_run);
  EXPECT_EQ(policy_for(AnswerKind::redirect).exit_code, ExitCode::config);
  EXPECT_EQ(policy_for(AnswerKind::tls_untrusted).verdict, Verdict::stop_run);
  EXPECT_EQ(policy_for(AnswerKind::timeout).verdict, Verdict::retry);
  EXPECT_FALSE(policy_for(AnswerKind::timeout).usable);
  EXPECT_EQ(policy_for(AnswerKind::aborted).verdict, Verdict::ignore);
}

TEST(ReadAnswer, ClassifiesStatusesAndTransportErrors) {
  EXPECT_EQ(read_answer(http(200, kGoodBody), kKey).kind, AnswerKind::metrics);
  EXPECT_EQ(read_answer(http(200, "not json"), kKey).kind, AnswerKind::unreadable_body);
  EXPECT_EQ(read_answer(http(204, ""), kKey).kind, AnswerKind::unreadable_body);
  for (long s : {301L, 302L, 307L, 308L}) EXPECT_EQ(read_answer(http(s), kKey).kind, AnswerKind::redirect) << s;
  EXPECT_EQ(read_answer(http(400), kKey).kind, AnswerKind::bad_request);
  EXPECT_EQ(read_answer(http(422), kKey).kind, AnswerKind::bad_request);
  EXPECT_EQ(read_answer(http(401), kKey).kind, AnswerKind::key_rejected);
  EXPECT_EQ(read_answer(http(403), kKey).kind, AnswerKind::key_rejected);
  EXPECT_EQ(read_answer(http(404), kKey).kind, AnswerKind::not_found);
  EXPECT_EQ(read_answer(http(408), kKey).kind, AnswerKind::request_timeout);
  EXPECT_EQ(read_answer(http(429), kKey).kind, AnswerKind::rate_limited);
  EXPECT_EQ(read_answer(http(503), kKey).kind, AnswerKind::server_error);
  EXPECT_EQ(read_answer(http(999), kKey).kind, AnswerKind::unexpected_status);
  EXPECT_EQ(read_answer(transport(TransportError::timeout), kKey).kind, AnswerKind::timeout);
  EXPECT_EQ(read_answer(transport(TransportError::tls_untrusted), kKey).kind, AnswerKind::tls_untrusted);
  EXPECT_EQ(read_answer(transport(TransportError::tls_handshake), kKey).kind, AnswerKind::tls_handshake);
  EXPECT_EQ(read_answer(transport(TransportError::aborted), kKey).kind, AnswerKind::aborted);
}

TEST(ReadAnswer, KeepsTheApisMessage) {
  const Answer a = read_answer(
      http(400, R"({"error": {"code": "validation_error", "message": "filter[country] invalid", "type": "request"}})"),
      kKey);
  EXPECT_EQ(a.message, "HTTP 400: filter[country] invalid (validation_error)");
  EXPECT_EQ(a.http_status, 400);
}

TEST(ReadAnswer, CutsTheKeyOutOfEveryTextTheServerSends) {
  const Answer echoed = read_answer(http(404, "Cannot GET /v1/analytics/" + kKey + "/customers-metrics"), kKey);
  EXPECT_EQ(echoed.message, "HTTP 404: unexpected body: Cannot GET /v1/analytics/****/customers-metrics");
  HttpResult redirect = http(302, "");
  redirect.location = "https://proxy.example/login?next=%2Fv1%2Fanalytics%2F" + kKey;
  const Answer moved = read_answer(redirect, kKey);
  EXPECT_EQ(moved.message.find(kKey), std::string::npos) << moved.message;
  EXPECT_NE(moved.message.find("redirect to https://proxy.example/login"), std::string::npos) << moved.message;
  HttpResult failed = transport(TransportError::connect_failed);
  failed.transport_message = "Failed to connect to host for /v1/analytics/" + kKey;
  EXPECT_EQ(read_answer(failed, kKey).message.find(kKey), std::string::npos);
}

TEST(ReadAnswer, MessagesAreValidUtf8OnOneLine) {
  for (const std::string& body :
       {std::string("<html><h1>Acc\xE8s refus\xE9</h1>\r\n<p>proxy</p></html>"),
        std::string(R"({"success":false,"message":"Service indisponible: caf)") + "\xC3" + R"(","errors":null})",
        std::string("\x1b[31mred\x1b[0m\x00tail", 20)}) {
    const Answer a = read_answer(http(502, body), kKey);
    EXPECT_TRUE(is_valid_utf8(a.message)) << a.message;
    EXPECT_EQ(a.message.find('\n'), std::string::npos);
    EXPECT_EQ(a.message.find('\x1b'), std::string::npos);
    EXPECT_EQ(a.message.find('\0'), std::string::npos);
  }
}

TEST(ReadAnswer, ABodyNestedFarTooDeepDoesNotCrash) {
  // 150,000 levels of an unknown field next to good data: read iteratively, data kept.
  const std::size_t depth = 150000;
  std::string body = R"({"data":{"clientsWithEvent":5,"activeSubscribers":2,"churnedSubscribers":1,)"
                     R"("activeTrials":1,"canceledTrials":0,"billingRetry":0,"avgPaymentCount":1,"avgPrice":9.99,)"
                     R"("sales":10},"x":)";
  body += std::string(depth, '[') + std::string(depth, ']') + "}";
  const Answer a = read_answer(http(200, body), kKey);
  ASSERT_EQ(a.kind, AnswerKind::metrics) << a.message;
  EXPECT_EQ(a.metrics->clients_with_event, 5);
  // The same depth in an error body and in a body cut short.
  EXPECT_EQ(read_answer(http(500, std::string(depth, '{')), kKey).kind, AnswerKind::server_error);
  EXPECT_EQ(read_answer(http(200, "{\"x\":" + std::string(depth, '[')), kKey).kind, AnswerKind::unreadable_body);
}

TEST(Backoff, GrowsExponentiallyUpToTheCapWithFullJitter) {
  const BackoffPolicy p{1.0, 8.0};
  EXPECT_EQ(backoff_seconds(p, 2, 0.999999), 0.999999);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 3, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 4, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(backoff_seconds(p, 10, 0.5), 4.0);  // capped at 8
  EXPECT_EQ(backoff_seconds(p, 5, 0.0), 0.0);
}

TEST(RequestPacer, SpacesRequestsFromTheFirstOneAHairWiderThanTheRate) {
  RequestPacer pacer(30);  // one every 2 s, and 1 % more: 2.02 s
  ASSERT_DOUBLE_EQ(RequestPacer::kSpacingMargin, 0.01);
  const SteadyTime t0{};
  EXPECT_TRUE(pacer.ready(t0));
  pacer.on_request_started(t0);
  EXPECT_FALSE(pacer.ready(t0 + 2019ms));
  EXPECT_TRUE(pacer.ready(t0 + 2020ms));
}

TEST(RequestPacer, DropsOncePerEventAndRemembersTheCeiling) {
  RequestPacer pacer(60);
  const SteadyTime t0{};
  for (int i = 0; i < 4; ++i) pacer.on_request_started(t0 + std::chrono::seconds(i));
  // Four answers in flight, all sent at the old rate, come back 429 one after another.
  for (int i = 0; i < 4; ++i) pacer.on_rate_limited(t0 + std::chrono::seconds(i), t0 + 5s + std::chrono::milliseconds(i), {});
  EXPECT_EQ(pacer.throttle_events(), 1);
  EXPECT_DOUBLE_EQ(pacer.current_rate_per_minute(), 60 * RequestPacer::kDecrease);
  EXPECT_EQ(pacer.ceiling_per_minute(), 60.0);
  // A request sent after the drop that is refused again is a new event.
  pacer.on_rate_limited(t0 + 6s, t0 + 7s, {});
  EXPECT_EQ(pacer.throttle_events(), 2);
  EXPECT_DOUBLE_EQ(pacer.ceiling_per_minute().value(), 60 * RequestPacer::kDecrease);
}

TEST(RequestPacer, RecoversTowardsJustBelowTheCeilingNeverAboveIt) {
  RequestPacer pacer(60);
  pacer.on_rate_limited(SteadyTime{}, SteadyTime{} + 1s, {});
  for (int i = 0; i < 1000; ++i) pacer.on_success(SteadyTime{});
  EXPECT_DOUBLE_EQ(pacer.current_rate_per_minute(), 60 * RequestPacer::kCeilingMargin);
}

TEST(RequestPacer, ALone429AfterALongSteadyRunIsJitterNotALowerLimit) {
  RequestPacer pacer(60);
  SteadyTime t{};
  pacer.on_rate_limited(t, t + 1s, {});  // the first 429: the ceiling is the configured rate
  for (int i = 0; i < 200; ++i) pacer.on_success(t += 1s);
  const double aim = 60 * RequestPacer::kCeilingMargin;
  ASSERT_DOUBLE_EQ(pacer.current_rate_per_minute(), aim);
  pacer.on_rate_limited(t, t + 1s, {});
  EXPECT_DOUBLE_EQ(pacer.ceiling_per_minute().value(), 60 * RequestPacer::kJitterShave)
      << "a lone 429 after 200 successes costs the ceiling a hair";
  for (int i = 0; i < 10; ++i) pacer.on_success(t += 1s);
  const double new_aim = 60 * RequestPacer::kJitterShave * RequestPacer::kCeilingMargin;
  EXPECT_DOUBLE_EQ(pacer.current_rate_per_minute(), new_aim) << "and the rate climbs back to nearly the same aim";
  // 429s that keep coming soon after reaching the aim say the limit is lower.
  pacer.on_rate_limited(t, t + 1s, {});
  EXPECT_DOUBLE_EQ(pacer.ceiling_per_minute().value(), new_aim);
}

// A strict server counts a request when it arrives. A request that was slow to arrive (a queue
// on the way) and a next one sent a full interval after it but on time arrive less than an
// interval apart: 429. The slowness shows as a round trip longer than the fastest one seen, and
// the next request waits that much longer, up to 5 % of the interval (a cell the server took
// long to compute was slow after arriving, and must not slow the run much).
TEST(RequestPacer, ARequestSlowToAnswerDelaysTheNextByItsDelayUpToAFewPercent) {
  RequestPacer pacer(60);  // 1.01 s apart
  ASSERT_DOUBLE_EQ(RequestPacer::kMaxAnswerDelay, 0.05);
  const SteadyTime t0{};
  pacer.on_request_started(t0);
  pacer.on_answer(t0, t0 + 20ms);  // the fastest round trip so far: 20 ms
  EXPECT_TRUE(pacer.ready(t0 + 1010ms)) << "an answer as fast as the fastest costs nothing";
  SteadyTime sent = t0 + 1010ms;
  pacer.on_request_started(sent);
  pacer.on_answer(sent, sent + 50ms);  // 30 ms slower than the fastest
  EXPECT_FALSE(pacer.ready(sent + 1039ms));
  EXPECT_TRUE(pacer.ready(sent + 1040ms));
  sent += 1040ms;
  pacer.on_request_started(sent);
  pacer.on_answer(sent, sent + 2s);  // much slower: the delay stops at 5 % of 1.01 s
  EXPECT_FALSE(pacer.ready(sent + 1010ms + 50ms));
  EXPECT_TRUE(pacer.ready(sent + 1010ms + 51ms));
}

TEST(RequestPacer, HoldsEveryRequestForTheServersRetryAfter) {
  RequestPacer pacer(600);
  const SteadyTime t0{};
  pacer.on_rate_limited(t0, t0 + 1s, 30s);
  EXPECT_FALSE(pacer.ready(t0 + 30s));
  EXPECT_TRUE(pacer.ready(t0 + 31s));
}

}  // namespace
}  // namespace qetl
