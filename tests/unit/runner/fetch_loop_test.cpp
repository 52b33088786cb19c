// The fetch loop against a simulated API in simulated time: pacing per key, 429 events and
// ceilings, Retry-After and backoff caps, give-up, answers that stop a project or the run, and
// the stop flag. No test sleeps; hours of simulated time take milliseconds.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "runner/fetch_loop.hpp"
#include "unit/runner/simulated_api.hpp"
#include "util/text.hpp"

namespace qetl {
namespace {

using namespace std::chrono_literals;
using test::SimReply;
using test::SimRequest;
using test::SimulatedApi;
using test::SimulatedClock;

// `n` cells of project `project` (index `index`), one per segment.
std::vector<Cell> cells_of(std::size_t index, const std::string& project, int n) {
  std::vector<Cell> out;
  for (int i = 0; i < n; ++i) {
    Cell c;
    c.project_index = index;
    c.project = project;
    c.window_name = "all_time";
    c.window_from = 1735689600;
    c.window_to = 1795000000;
    c.filters = std::vector<CellFilter>{{"country", "C" + std::to_string(i), {"C" + std::to_string(i)}}};
    c.segment = "country=C" + std::to_string(i);
    out.push_back(c);
  }
  return out;
}

FetchSettings settings(double per_minute, int concurrency = 4) {
  FetchSettings s;
  s.api.base_url = "https://api.example/v1/analytics";
  s.api.requests_per_minute = per_minute;
  s.api.concurrency = concurrency;
  s.api.max_attempts = 5;
  s.unit_random = [] { return 0.5; };
  return s;
}

struct Fetched {
  FetchStats stats;
  std::vector<CellResult> results;
  double seconds = 0;

  std::size_t stored() const {
    return static_cast<std::size_t>(std::count_if(results.begin(), results.end(), [](const auto& r) { return r.ok; }));
  }
  std::size_t failed() const { return results.size() - stored(); }
};

Fetched fetch(const FetchSettings& s, const std::vector<Cell>& cells, const std::vector<std::string>& keys,
              SimulatedApi& api, SimulatedClock& clock, const std::atomic<int>& stop) {
  Fetched f;
  f.stats = fetch_cells(s, cells, keys, [&](CellResult&& r) { f.results.push_back(std::move(r)); }, stop, api, clock);
  f.seconds = clock.seconds();
  return f;
}

Fetched fetch(const FetchSettings& s, const std::vector<Cell>& cells, const std::vector<std::string>& keys,
              SimulatedApi& api, SimulatedClock& clock) {
  const std::atomic<int> no_stop{0};
  return fetch(s, cells, keys, api, clock, no_stop);
}

const std::string kKeyA = "key_alpha_0123456789";
const std::string kKeyB = "key_bravo_0123456789";

// ---------------------------------------------------------------------------------------------
// Pacing

TEST(FetchLoop, PacesOneKeyFromTheFirstRequest) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) { return test::ok_reply(); });
  const Fetched f = fetch(settings(60), cells_of(0, "a", 10), {kKeyA}, api, clock);
  ASSERT_EQ(f.stored(), 10u);
  for (std::size_t i = 1; i < api.sent.size(); ++i) {
    EXPECT_GE(api.sent[i].sent_at - api.sent[i - 1].sent_at, 1s) << "request " << i;
  }
}

TEST(FetchLoop, ProjectsSharingAKeyShareItsPace) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) { return test::ok_reply(); });
  std::vector<Cell> cells = cells_of(0, "a", 6);
  for (Cell& c : cells_of(1, "b", 6)) cells.push_back(c);
  const Fetched f = fetch(settings(60), cells, {kKeyA, kKeyA}, api, clock);
  ASSERT_EQ(f.stored(), 12u);
  for (std::size_t i = 1; i < api.sent.size(); ++i) {
    EXPECT_GE(api.sent[i].sent_at - api.sent[i - 1].sent_at, 1s) << "two entries of one key sent together";
  }
  EXPECT_GE(f.seconds, 11.0);
}

TEST(FetchLoop, DifferentKeysRunSideBySideEachAtItsOwnRate) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) { return test::ok_reply(); });
  std::vector<Cell> cells = cells_of(0, "a", 10);
  for (Cell& c : cells_of(1, "b", 10)) cells.push_back(c);
  const Fetched f = fetch(settings(60), cells, {kKeyA, kKeyB}, api, clock);
  ASSERT_EQ(f.stored(), 20u);
  EXPECT_LT(f.seconds, 11.0);  // 10 requests of each key at 1/s, in parallel
}

// The strict bucket: no burst allowance, requests arrive with a few ms of jitter.
double strict_bucket_run(int projects, int cells_each, int* max_429_per_project, int* total_429) {
  SimulatedClock clock;
  // The first request of each key also opens its connection: 50 ms of handshake before the
  // server counts it (all projects connect at once at the start).
  test::TokenBucketLimit limit(60, 1, std::chrono::milliseconds(4), 0.05);
  std::map<std::string, int> refused;
  SimulatedApi api(clock, [&](const SimRequest& r) {
    SimReply reply = test::ok_reply();
    if (!limit.allow(r)) {
      refused[r.key] += 1;
      reply = test::status_reply(429);
    }
    if (r.opens_connection) reply.latency += std::chrono::milliseconds(50);
    return reply;
  });
  std::vector<Cell> cells;
  std::vector<std::string> keys;
  for (int p = 0; p < projects; ++p) {
    for (Cell& c : cells_of(static_cast<std::size_t>(p), "p" + std::to_string(p), cells_each)) cells.push_back(c);
    keys.push_back("key_" + std::to_string(p) + "_0123456789abcdef");
  }
  const Fetched f = fetch(settings(60), cells, keys, api, clock);
  EXPECT_EQ(f.stored(), cells.size());
  *max_429_per_project = 0;
  *total_429 = 0;
  for (const auto& [key, n] : refused) {
    *max_429_per_project = std::max(*max_429_per_project, n);
    *total_429 += n;
  }
  return f.seconds / cells_each;  // seconds per request of one key: N/R = 1 s
}

TEST(FetchLoop, AtAStrictServersExactLimitOneProjectSettlesJustBelowIt) {
  int max_429 = 0, total = 0;
  const double ratio = strict_bucket_run(1, 200, &max_429, &total);
  EXPECT_LE(ratio, 1.10);
  EXPECT_LE(max_429, 2);
}

TEST(FetchLoop, AtAStrictServersExactLimitAHundredProjectsSideBySideHoldTheirPace) {
  int max_429 = 0, total = 0;
  const double ratio = strict_bucket_run(100, 20, &max_429, &total);
  EXPECT_LE(ratio, 1.10);
  EXPECT_LE(max_429, 2);
}

// Every fourth request (from the fourth on: the first ones show the usual round trip) waits
// 30 ms in a queue on the way in (a proxy, a busy accept loop), so its answer is 30 ms late too. A strict server counts it late; the next request, sent one
// interval after it and not delayed, would arrive less than an interval after it. The late
// answer makes the next request wait as much: no 429 at all.
TEST(FetchLoop, AQueueOnTheWayInDelaysTheNextRequestInsteadOfEarningA429) {
  SimulatedClock clock;
  std::optional<double> allowed_from;  // the strict bucket's next allowed arrival, in seconds
  int refused = 0;
  SimulatedApi api(clock, [&](const SimRequest& r) {
    const Duration queue = r.number % 4 == 3 ? std::chrono::milliseconds(30) : Duration{};
    const double arrival = duration_seconds(r.sent_at - SteadyTime{} + queue) + 0.01;
    SimReply reply = test::ok_reply();
    if (allowed_from && arrival < *allowed_from - 1e-9) {
      refused += 1;
      reply = test::status_reply(429);
    } else {
      allowed_from = arrival + 1.0;  // 60 a minute, no burst, no tolerance
    }
    reply.latency += queue;
    return reply;
  });
  const Fetched f = fetch(settings(60), cells_of(0, "p", 40), {"key_0_0123456789abcdef"}, api, clock);
  EXPECT_EQ(f.stored(), 40u);
  EXPECT_EQ(refused, 0);
  EXPECT_LE(f.seconds / 40, 1.10);
}

TEST(FetchLoop, TwiceTheServersLimitConvergesWithFewRefusals) {
  SimulatedClock clock;
  test::TokenBucketLimit limit(60, 1);
  int refused = 0;
  SimulatedApi api(clock, [&](const SimRequest& r) {
    if (limit.allow(r)) return test::ok_reply();
    ++refused;
    return test::status_reply(429);
  });
  const Fetched f = fetch(settings(120), cells_of(0, "a", 300), {kKeyA}, api, clock);
  EXPECT_EQ(f.stored(), 300u);
  EXPECT_LE(f.seconds / 300, 1.5);
  EXPECT_LE(refused, 30) << "at most 10 % of N";
  EXPECT_EQ(f.stats.rate_limited, refused);
}

TEST(FetchLoop, TwiceTheLimitOnAShortRunLandsNearTheLimitInAFewEvents) {
  // The drop starts from the rate the server accepted, not from the rate sent.
  for (const double burst : {1.0, 2.0}) {
    SimulatedClock clock;
    test::TokenBucketLimit limit(600, burst);
    int refused = 0;
    SimulatedApi api(clock, [&](const SimRequest& r) {
      if (limit.allow(r)) return test::ok_reply();
      ++refused;
      return test::status_reply(429);
    });
    const Fetched f = fetch(settings(1200), cells_of(0, "a", 40), {kKeyA}, api, clock);
    EXPECT_EQ(f.stored(), 40u);
    EXPECT_LE(refused, 6) << "burst " << burst;
  }
}

TEST(FetchLoop, AnswersInFlightToOneRateAreOneThrottlingEvent) {
  // Four requests in flight at once all come back 429: the rate drops once, not four times.
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    SimReply reply = r.number < 4 ? test::status_reply(429) : test::ok_reply();
    reply.latency = 10s;  // all four are sent before the first answer
    return reply;
  });
  const Fetched f = fetch(settings(600), cells_of(0, "a", 8), {kKeyA}, api, clock);
  EXPECT_EQ(f.stored(), 8u);
  EXPECT_EQ(f.stats.rate_limited, 4);
  // After the one drop (600 -> 540/min) requests are 111 ms apart; four drops would be 152 ms.
  const auto& s = api.sent;
  ASSERT_GE(s.size(), 10u);
  EXPECT_LT(s[9].sent_at - s[8].sent_at, 120ms);
}

// ---------------------------------------------------------------------------------------------
// Waits

TEST(FetchLoop, RetryAfterOfADayIsCappedAtMaxRetryWait) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    SimReply reply = r.number == 0 ? test::status_reply(429) : test::ok_reply();
    reply.result.retry_after_seconds = 86400;
    return reply;
  });
  FetchSettings s = settings(600);
  s.max_retry_wait_seconds = 300;
  const Fetched f = fetch(s, cells_of(0, "a", 2), {kKeyA}, api, clock);
  EXPECT_EQ(f.stored(), 2u);
  EXPECT_GE(f.seconds, 300.0);
  EXPECT_LT(f.seconds, 310.0);
}

TEST(FetchLoop, AnHttpDateCenturiesAheadNeitherOverflowsNorParksTheRun) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    SimReply reply = r.number == 0 ? test::status_reply(503) : test::ok_reply();
    reply.result.retry_after_seconds = 2.5e11;  // 9999-12-31 seen from 2026, as libcurl reports it
    return reply;
  });
  FetchSettings s = settings(600);
  s.max_retry_wait_seconds = 60;
  const Fetched f = fetch(s, cells_of(0, "a", 1), {kKeyA}, api, clock);
  EXPECT_EQ(f.stored(), 1u);
  EXPECT_GE(f.seconds, 60.0);
  EXPECT_LT(f.seconds, 61.0);
}

TEST(FetchLoop, BackoffIsCappedAtMaxRetryWait) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) { return r.number < 4 ? test::status_reply(500) : test::ok_reply(); });
  FetchSettings s = settings(6000);
  s.backoff = BackoffPolicy{10.0, 3600.0};
  s.unit_random = [] { return 0.999; };
  s.max_retry_wait_seconds = 2;
  const Fetched f = fetch(s, cells_of(0, "a", 1), {kKeyA}, api, clock);
  EXPECT_EQ(f.stored(), 1u);
  EXPECT_LT(f.seconds, 4 * 2 + 1.0);
}

// ---------------------------------------------------------------------------------------------
// Give up on a dead API

TEST(FetchLoop, AnApiAnsweringOnly5xxIsGivenUpAfterGiveUpSeconds) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) { return test::status_reply(502, "<html>bad gateway</html>"); });
  FetchSettings s = settings(30);  // the API's own regime
  s.give_up_after_seconds = 900;
  s.api.max_attempts = 100;
  const Fetched f = fetch(s, cells_of(0, "a", 2000), {kKeyA}, api, clock);
  EXPECT_GE(f.seconds, 900.0);
  EXPECT_LT(f.seconds, 900.0 + 300 + 60) << "stops within one capped wait of the limit, not after every cell";
  ASSERT_EQ(f.stats.given_up_projects, std::vector<std::string>{"a"});
  EXPECT_EQ(f.stored(), 0u);
  // Cells never sent are not failures: run --resume picks them up.
  std::set<std::size_t> tried;
  for (const SimRequest& r : api.sent) tried.insert(static_cast<std::size_t>(r.number));
  EXPECT_LT(f.results.size(), 2000u);
  EXPECT_EQ(static_cast<std::int64_t>(f.results.size()) + f.stats.cells_not_tried, 2000);
  for (const CellResult& r : f.results) EXPECT_GE(r.attempts, 1);
}

TEST(FetchLoop, AnUnreachableApiIsGivenUpToo) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) { return test::transport_reply(TransportError::timeout, 30s); });
  FetchSettings s = settings(30);
  s.give_up_after_seconds = 300;
  const Fetched f = fetch(s, cells_of(0, "a", 500), {kKeyA}, api, clock);
  EXPECT_EQ(f.stats.given_up_projects.size(), 1u);
  EXPECT_LT(f.seconds, 300.0 + 300 + 60);
}

TEST(FetchLoop, AnOrdinary429PauseIsNotGivingUp) {
  // One Retry-After longer than give_up_after_seconds: the next answer is good, the run goes on.
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    SimReply reply = r.number == 0 ? test::status_reply(429) : test::ok_reply();
    reply.result.retry_after_seconds = 200;
    return reply;
  });
  FetchSettings s = settings(600);
  s.give_up_after_seconds = 100;
  const Fetched f = fetch(s, cells_of(0, "a", 5), {kKeyA}, api, clock);
  EXPECT_TRUE(f.stats.given_up_projects.empty());
  EXPECT_EQ(f.stored(), 5u);
}

TEST(FetchLoop, OneProjectGivingUpLeavesTheOthersRunning) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    return r.key == kKeyA ? test::status_reply(503) : test::ok_reply();
  });
  FetchSettings s = settings(60);
  s.give_up_after_seconds = 20;
  std::vector<Cell> cells = cells_of(0, "a", 100);
  for (Cell& c : cells_of(1, "b", 50)) cells.push_back(c);
  const Fetched f = fetch(s, cells, {kKeyA, kKeyB}, api, clock);
  EXPECT_EQ(f.stats.given_up_projects, std::vector<std::string>{"a"});
  EXPECT_EQ(f.stored(), 50u);
}

// ---------------------------------------------------------------------------------------------
// Answers that stop a project or the run

TEST(FetchLoop, ARedirectStopsTheRunAtOnceWithExit78) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest&) {
    SimReply r = test::status_reply(301, "");
    r.result.location = "https://login.proxy.example/?next=/v1/analytics/" + kKeyA + "/customers-metrics";
    return r;
  });
  const Fetched f = fetch(settings(600, 2), cells_of(0, "a", 50), {kKeyA}, api, clock);
  EXPECT_EQ(f.stats.end, FetchEnd::stopped);
  EXPECT_EQ(f.stats.stop_exit_code, ExitCode::config);
  EXPECT_LE(api.sent.size(), 2u);
  EXPECT_NE(f.stats.fatal_message.find("redirect"), std::string::npos);
  EXPECT_EQ(f.stats.fatal_message.find(kKeyA), std::string::npos) << f.stats.fatal_message;
}

TEST(FetchLoop, A404EchoingThePathStopsTheRunWithoutShowingTheKey) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    return test::status_reply(404, "Cannot GET /v1/analytics/" + r.key + "/customers-metrics");
  });
  const Fetched f = fetch(settings(600, 1), cells_of(0, "a", 5), {kKeyA}, api, clock);
  EXPECT_EQ(f.stats.end, FetchEnd::stopped);
  EXPECT_EQ(f.stats.stop_exit_code, ExitCode::config);
  EXPECT_EQ(f.stats.fatal_message.find(kKeyA), std::string::npos) << f.stats.fatal_message;
  ASSERT_EQ(f.results.size(), 1u);
  EXPECT_EQ(f.results[0].error.find(kKeyA), std::string::npos) << f.results[0].error;
  EXPECT_NE(f.results[0].error.find("/v1/analytics/****/customers-metrics"), std::string::npos);
}

TEST(FetchLoop, ARejectedKeyStopsOnlyItsProject) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) { return r.key == kKeyA ? test::status_reply(401) : test::ok_reply(); });
  std::vector<Cell> cells = cells_of(0, "a", 20);
  for (Cell& c : cells_of(1, "b", 5)) cells.push_back(c);
  const Fetched f = fetch(settings(600, 4), cells, {kKeyA, kKeyB}, api, clock);
  EXPECT_EQ(f.stats.rejected_projects, std::vector<std::string>{"a"});
  EXPECT_EQ(f.stored(), 5u);
  EXPECT_EQ(f.failed(), 20u);
  EXPECT_LE(std::count_if(api.sent.begin(), api.sent.end(), [](const SimRequest& r) { return r.key == kKeyA; }), 4);
}

TEST(FetchLoop, ErrorTextIsValidUtf8WithoutTheKey) {
  SimulatedClock clock;
  SimulatedApi api(clock, [](const SimRequest& r) {
    // A Latin-1 proxy page that echoes the path, and a JSON message cut inside a character.
    return r.number % 2 == 0 ? test::status_reply(500, "<h1>Erreur \xE9\x74\xE9</h1> /v1/" + r.key + "\x1b[0m")
                             : test::status_reply(400, "{\"message\":\"caf\xC3\"}");
  });
  FetchSettings s = settings(6000, 1);
  s.api.max_attempts = 1;
  const Fetched f = fetch(s, cells_of(0, "a", 4), {kKeyA}, api, clock);
  ASSERT_EQ(f.failed(), 4u);
  for (const CellResult& r : f.results) {
    EXPECT_TRUE(is_valid_utf8(r.error)) << r.error;
    EXPECT_EQ(r.error.find(kKeyA), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find('\x1b'), std::string::npos) << r.error;
  }
}

// ---------------------------------------------------------------------------------------------
// The stop flag

TEST(FetchLoop, TheStopFlagEndsTheLoopAndAbandonsWhatIsInFlight) {
  SimulatedClock clock;
  std::atomic<int> stop{0};
  SimulatedApi api(clock, [](const SimRequest&) {
    SimReply r = test::ok_reply();
    r.latency = 60s;
    return r;
  });
  api.on_deliver = [&](const auto&) {};
  FetchSettings s = settings(600, 2);
  s.on_tick = [&](const FetchStats& st) {
    if (st.requests_sent >= 2) stop = 15;
  };
  const Fetched f = fetch(s, cells_of(0, "a", 10), {kKeyA}, api, clock, stop);
  EXPECT_EQ(f.stats.end, FetchEnd::interrupted);
  EXPECT_TRUE(f.results.empty()) << "an abandoned request is not a result";
  EXPECT_LT(f.seconds, 1.0);
}

}  // namespace
}  // namespace qetl
