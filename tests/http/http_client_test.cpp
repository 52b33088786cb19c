// The libcurl client and the fetch loop against a real HTTP server on 127.0.0.1 (the mock API).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "api/http_client.hpp"
#include "api/metrics_json.hpp"
#include "api/query.hpp"
#include "common/mock_api_server.hpp"
#include "common/temp_dir.hpp"
#include "runner/fetch_loop.hpp"

namespace qetl {
namespace {

using test::MockApiServer;

const std::string kKey = "http_test_key";
const std::string kOtherKey = "http_test_other";

struct CurlOnce : ::testing::Environment {
  void SetUp() override { curl = std::make_unique<CurlGlobal>(); }
  void TearDown() override { curl.reset(); }
  std::unique_ptr<CurlGlobal> curl;
};
const auto* const kCurl = ::testing::AddGlobalTestEnvironment(new CurlOnce);

std::string url(const MockApiServer& mock, const std::string& key = kKey, const std::string& query =
                    "environment=1&filter[since][]=1700000000&filter[since][]=1800000000") {
  return request_url(mock.base_url(), key, query);
}

std::vector<std::pair<HttpClient::RequestId, HttpResult>> wait_all(HttpClient& http) {
  std::vector<std::pair<HttpClient::RequestId, HttpResult>> all;
  while (http.in_flight() > 0) {
    for (auto& r : http.poll(100)) all.push_back(std::move(r));
  }
  return all;
}

HttpResult get_one(HttpClient& http, const std::string& u) {
  http.start(u);
  auto all = wait_all(http);
  EXPECT_EQ(all.size(), 1u);
  return all.at(0).second;
}

rapidjson::Document stats(const MockApiServer& mock) {
  rapidjson::Document d;
  d.Parse(mock.stats_json().c_str());
  return d;
}

HttpClientOptions options(double timeout = 10) {
  HttpClientOptions o;
  o.user_agent = "qonversion-etl/test";
  o.timeout_seconds = timeout;
  return o;
}

TEST(HttpClient, DecodesGzipAndReusesOneConnection) {
  MockApiServer mock({"--keys", kKey, "--customers", "2000"});
  HttpClient http(options());
  for (int i = 0; i < 5; ++i) {
    const HttpResult r = get_one(http, url(mock));
    ASSERT_EQ(r.transport, TransportError::none) << r.transport_message;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_encoding, "gzip");
    EXPECT_TRUE(parse_metrics_body(r.body).metrics) << r.body;
  }
  const auto s = stats(mock);
  EXPECT_EQ(s["requests_total"].GetInt(), 5);
  EXPECT_EQ(s["connections_accepted"].GetInt(), 1) << "keep-alive: one connection for sequential requests";
}

TEST(HttpClient, KeepsStatusBodyAndRetryAfterOfErrors) {
  MockApiServer mock({"--keys", kKey, "--customers", "100", "--fail-first", "1", "--fail-kind", "429",
                      "--retry-after", "7"});
  HttpClient http(options());
  const HttpResult limited = get_one(http, url(mock));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.retry_after_seconds, 7.0);
  EXPECT_EQ(api_error_message(limited.body), "Rate limit exceeded");
  const HttpResult unknown_key = get_one(http, url(mock, "not_a_key"));
  EXPECT_EQ(unknown_key.status, 401);
  EXPECT_EQ(api_error_message(unknown_key.body), "Invalid or missing Project API Key");
  const HttpResult bad = get_one(http, url(mock, kKey, "environment=7&filter[since][]=1&filter[since][]=2"));
  EXPECT_EQ(bad.status, 400);
}

TEST(HttpClient, TellsTransportFailuresApart) {
  int port = 0;
  {
    // A port that was free a moment ago: nothing listens there.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  HttpClient http(options(0.5));
  const HttpResult refused = get_one(http, "http://127.0.0.1:" + std::to_string(port) + "/v1/analytics/x/customers-metrics");
  EXPECT_EQ(refused.transport, TransportError::connect_failed) << refused.transport_message;

  MockApiServer hang({"--keys", kKey, "--customers", "100", "--fail-first", "1", "--fail-kind", "hang", "--hang-seconds", "5"});
  const HttpResult timeout = get_one(http, url(hang));
  EXPECT_EQ(timeout.transport, TransportError::timeout) << timeout.transport_message;
  EXPECT_LT(timeout.seconds, 3.0);

  MockApiServer reset({"--keys", kKey, "--customers", "100", "--fail-first", "1", "--fail-kind", "reset"});
  const HttpResult r = get_one(http, url(reset));
  EXPECT_EQ(r.transport, TransportError::connection_reset) << r.transport_message;
}

TEST(HttpClient, AbortAllEndsRequestsInFlight) {
  MockApiServer mock({"--keys", kKey, "--customers", "100", "--latency-ms", "20000"});
  HttpClient http(options(60));
  http.start(url(mock));
  http.start(url(mock));
  while (stats(mock)["in_flight"].GetInt() < 2) http.poll(20);
  http.abort_all();
  const auto done = http.poll(0);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].second.transport, TransportError::aborted);
  EXPECT_EQ(http.in_flight(), 0u);
}

// --- the fetch loop: pacing, concurrency, projects side by side --------------------------------

std::vector<Cell> cells_for(std::size_t project_index, const std::string& project, int n) {
  std::vector<Cell> cells;
  for (int i = 0; i < n; ++i) {
    Cell c;
    c.project_index = project_index;
    c.project = project;
    c.window_name = "w";
    c.window_from = 1735689600 + i * 30 * 86400;  // monthly windows from 2025, where the mock has customers
    c.window_to = c.window_from + 30 * 86400;
    c.segment = "all";
    cells.push_back(c);
  }
  return cells;
}

FetchSettings settings(const MockApiServer& mock, double rpm, int concurrency) {
  FetchSettings s;
  s.api.base_url = mock.base_url();
  s.api.requests_per_minute = rpm;
  s.api.concurrency = concurrency;
  s.api.timeout_seconds = 10;
  s.api.max_attempts = 3;
  s.user_agent = "qonversion-etl/test";
  return s;
}

std::vector<double> request_times(const rapidjson::Document& s, const std::string& key) {
  std::vector<double> t;
  for (const auto& v : s["request_times_by_key"][key.c_str()].GetArray()) t.push_back(v.GetDouble());
  return t;
}

TEST(FetchLoop, SpacesRequestsFromTheFirstOne) {
  MockApiServer mock({"--keys", kKey, "--customers", "500"});
  std::atomic<int> stop{0};
  int ok = 0;
  const FetchStats st = fetch_cells(settings(mock, 600, 4), cells_for(0, "p", 8), {kKey},
                                    [&](CellResult&& r) { ok += r.ok ? 1 : 0; }, stop);
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(st.requests_sent, 8);
  const auto times = request_times(stats(mock), kKey);
  ASSERT_EQ(times.size(), 8u);
  // 100 ms apart when sent. The server's arrival times carry the scheduling jitter of a busy
  // machine (tens of ms), so each gap is only held to half the interval — a burst shows as a gap
  // near zero — and the whole span to the pace. The exact pacing is unit-tested in simulated time.
  for (std::size_t i = 1; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 1], 0.050) << "requests " << i - 1 << " and " << i << " came in a burst";
  }
  EXPECT_GE(times.back() - times.front(), 0.85 * 0.1 * static_cast<double>(times.size() - 1));
}

TEST(FetchLoop, KeepsAtMostConcurrencyRequestsInFlight) {
  MockApiServer mock({"--keys", kKey, "--customers", "200", "--latency-ms", "150"});
  std::atomic<int> stop{0};
  int ok = 0;
  fetch_cells(settings(mock, 60000, 3), cells_for(0, "p", 12), {kKey}, [&](CellResult&& r) { ok += r.ok ? 1 : 0; }, stop);
  EXPECT_EQ(ok, 12);
  EXPECT_EQ(stats(mock)["max_in_flight_by_key"][kKey.c_str()].GetInt(), 3);
}

TEST(FetchLoop, ProjectsRunSideBySideEachAtItsOwnPace) {
  MockApiServer mock({"--keys", kKey + "," + kOtherKey, "--customers", "200"});
  std::vector<Cell> cells = cells_for(0, "a", 6);
  for (Cell& c : cells_for(1, "b", 6)) cells.push_back(c);
  std::atomic<int> stop{0};
  int ok = 0;
  fetch_cells(settings(mock, 300, 2), cells, {kKey, kOtherKey}, [&](CellResult&& r) { ok += r.ok ? 1 : 0; }, stop);
  EXPECT_EQ(ok, 12);
  const auto s = stats(mock);
  const auto a = request_times(s, kKey);
  const auto b = request_times(s, kOtherKey);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  EXPECT_LT(b.front(), a.back()) << "project b waited for project a to finish";
  EXPECT_LT(a.front(), b.back());
  // 200 ms apart when sent: gaps held to half that (arrival jitter), the span to the pace.
  for (const auto* times : {&a, &b}) {
    for (std::size_t i = 1; i < times->size(); ++i) EXPECT_GE((*times)[i] - (*times)[i - 1], 0.1);
    EXPECT_GE(times->back() - times->front(), 0.85 * 0.2 * static_cast<double>(times->size() - 1));
  }
}

TEST(FetchLoop, NumericStringsAndUnknownFieldsGiveTheSameMetrics) {
  MockApiServer plain({"--keys", kKey, "--customers", "3000"});
  MockApiServer odd({"--keys", kKey, "--customers", "3000", "--numeric-strings", "--extra-fields"});
  std::atomic<int> stop{0};
  std::vector<Metrics> a(5), b(5);
  fetch_cells(settings(plain, 60000, 2), cells_for(0, "p", 5), {kKey}, [&](CellResult&& r) {
    ASSERT_TRUE(r.ok) << r.error;
    a[r.cell_index] = r.metrics;
  }, stop);
  fetch_cells(settings(odd, 60000, 2), cells_for(0, "p", 5), {kKey}, [&](CellResult&& r) {
    ASSERT_TRUE(r.ok) << r.error;
    b[r.cell_index] = r.metrics;
  }, stop);
  EXPECT_EQ(a, b);
  EXPECT_GT(a[0].clients_with_event + a[1].clients_with_event + a[2].clients_with_event, 0);
}

// --- TLS ------------------------------------------------------------------------------------

TEST(HttpClientTls, RefusesAnUnknownCertificateAndAcceptsItThroughCaFile) {
  test::TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                          "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed (scripts/install-deps installs it)";
  MockApiServer mock({"--keys", kKey, "--customers", "100", "--tls-cert", cert, "--tls-key", key});
  ASSERT_EQ(mock.base_url().rfind("https://", 0), 0u) << mock.base_url();

  HttpClient strict(options());
  const HttpResult refused = get_one(strict, url(mock));
  EXPECT_EQ(refused.transport, TransportError::tls_untrusted) << refused.transport_message;
  EXPECT_EQ(refused.status, 0);

  HttpClientOptions with_ca = options();
  with_ca.ca_file = cert;
  HttpClient trusting(with_ca);
  const HttpResult ok = get_one(trusting, url(mock));
  EXPECT_EQ(ok.transport, TransportError::none) << ok.transport_message;
  EXPECT_EQ(ok.status, 200);
}

}  // namespace
}  // namespace qetl
