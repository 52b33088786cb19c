// One run at a time (SPEC "Behaviour under faults", exit 75), with the built binary against the
// mock API and both warehouses: a second run of the same config is refused at once, naming the
// first; a SIGKILLed run leaves no lock behind.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>

#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"

namespace qetl::test {
namespace {

// 1 project x 1 environment x 1 window x 8 countries, one request at a time, each answered
// after kLatencyMs: a run lasts about 8 x 0.4 s, long enough to be caught in the middle.
constexpr int kCells = 8;
constexpr int kLatencyMs = 400;

std::string lock_config(const std::string& base_url, const WarehouseProbe& probe) {
  return R"(snapshot_grain = "day"

[api]
base_url = ")" + base_url + R"("
concurrency = 1
requests_per_minute = 60000
timeout_seconds = 10
max_attempts = 3

[warehouse]
)" + probe.config_lines() + R"(
[[project]]
name = "alpha"
api_key = { env = "E2E_KEY" }
environments = [1]

[[window]]
name = "since_2025"
from = "2025-01-01"

[matrix]
country = ["*", "US", "DE", "FR", "JP", "GB", "CA", "BR"]
)";
}

// Polls `condition` every 10 ms for at most `limit`; true once it holds.
template <class F>
bool wait_for(F condition, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

template <typename Probe>
class RunLock : public ::testing::Test {
 protected:
  RunLock() : probe_(dir_), mock_({"--keys", kKeyAlpha + "," + kKeyBeta, "--latency-ms", std::to_string(kLatencyMs)}) {
    write_file(dir_.file("config.toml"), lock_config(mock_.base_url(), probe_));
  }

  // `run` with the config; E2E_KEY picks the API key, so the mock counts each run's requests apart.
  std::unique_ptr<ChildProcess> start_run(const std::string& key, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{QETL_BINARY, "run", "--snapshot", "2026-11-20", "--config", dir_.file("config.toml")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{{"E2E_KEY", key}},
                                          dir_.path().string());
  }

  // Requests the mock received with `key`.
  int requests_by(const std::string& key) const {
    rapidjson::Document d;
    const std::string json = mock_.stats_json();
    d.Parse(json.c_str());
    if (d.HasParseError() || !d.HasMember("by_key") || !d["by_key"].HasMember(key.c_str())) return 0;
    return d["by_key"][key.c_str()].GetInt();
  }

  // PostgreSQL ends a killed client's session when it reads EOF on its socket, a moment after
  // the process is gone: wait for that (the job itself never waits for a lock).
  bool no_job_session_left() {
    if (probe_.name() != "postgresql") return true;
    return wait_for([&] {
      return probe_.count("pg_stat_activity WHERE datname = current_database() AND "
                          "application_name = 'qonversion-etl'") == 0;
    }, std::chrono::seconds(10));
  }

  TempDir dir_;
  Probe probe_;
  MockApiServer mock_;
};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(RunLock, Backends);

TYPED_TEST(RunLock, SecondRunExits75NamingTheHolderAndSendsNoRequest) {
  auto first = this->start_run(kKeyAlpha);
  ASSERT_TRUE(wait_for([&] { return contains(first->stderr_so_far(), "took the run lock"); }))
      << first->stderr_so_far();

  const auto started = std::chrono::steady_clock::now();
  auto second = this->start_run(kKeyBeta);
  const ProcessResult refused = second->wait();
  const auto took = std::chrono::steady_clock::now() - started;
  const int first_requests_then = this->requests_by(kKeyAlpha);

  EXPECT_EQ(refused.exit_code, 75) << refused.err;
  EXPECT_LT(took, std::chrono::seconds(5)) << "the second run must not wait for the first";
  EXPECT_TRUE(contains(refused.err, "another run holds the lock for project")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "alpha")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "pid " + std::to_string(first->pid()) + ",")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "host ")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "started 20")) << refused.err;
  EXPECT_FALSE(contains(refused.err, "took the run lock")) << refused.err;
  EXPECT_EQ(this->requests_by(kKeyBeta), 0) << this->mock_.stats_json();
  EXPECT_LT(first_requests_then, kCells) << "the first run was to be still running: the test proves nothing";

  const ProcessResult done = first->wait();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(this->probe_.count("customer_metrics"), kCells);
  EXPECT_EQ(this->requests_by(kKeyAlpha), kCells);
  EXPECT_EQ(this->probe_.count("etl_runs"), 1) << "the refused run records no run";
}

// Runs whose cells can overlap spend one key's rate twice and write the same rows: an unsharded
// run and any shard conflict, and so do shards of different counts; 1/2 and 2/2 do not.
TYPED_TEST(RunLock, RunsWhoseCellsCanOverlapConflictShardsOfOneCountDoNot) {
  for (const auto& [held, second, conflict] :
       std::vector<std::tuple<std::vector<std::string>, std::vector<std::string>, bool>>{
           {{"--shard", "1/2"}, {}, true},
           {{}, {"--shard", "1/3"}, true},
           {{"--shard", "1/2"}, {"--shard", "1/3"}, true},
           {{"--shard", "1/2"}, {"--shard", "2/2"}, false}}) {
    SCOPED_TRACE(::testing::PrintToString(held) + " then " + ::testing::PrintToString(second));
    auto first = this->start_run(kKeyAlpha, held);
    ASSERT_TRUE(wait_for([&] { return contains(first->stderr_so_far(), "took the run lock"); }))
        << first->stderr_so_far();
    auto next = this->start_run(kKeyBeta, second);
    ASSERT_TRUE(wait_for([&] {
      return contains(next->stderr_so_far(), "took the run lock") ||
             contains(next->stderr_so_far(), "another run holds the lock");
    })) << next->stderr_so_far();
    EXPECT_FALSE(contains(first->stderr_so_far(), "run succeeded")) << "the first run ended too soon";
    const ProcessResult r = next->wait();
    EXPECT_EQ(r.exit_code, conflict ? 75 : 0) << r.err;
    if (conflict) {
      EXPECT_TRUE(contains(r.err, "another run holds the lock")) << r.err;
    }
    EXPECT_EQ(first->wait().exit_code, 0);
  }
}

// SIGKILLed runs cannot record their end: the next run of their scope closes their rows.
TYPED_TEST(RunLock, RunsKilledMidWayAreClosedByTheNextRunOfTheirScope) {
  for (int i = 0; i < 3; ++i) {
    auto killed = this->start_run(kKeyAlpha);
    ASSERT_TRUE(wait_for([&] { return contains(killed->stderr_so_far(), "run started"); })) << killed->stderr_so_far();
    killed->signal(SIGKILL);
    killed->wait();
    ASSERT_TRUE(this->no_job_session_left());
  }
  // Each killed run closed the one before it; the last is still `running`.
  EXPECT_EQ(this->probe_.count("etl_runs WHERE status = 'running'"), 1);
  EXPECT_EQ(this->probe_.count("etl_runs WHERE status = 'interrupted'"), 2);
  const ProcessResult r = this->start_run(kKeyBeta)->wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(this->probe_.count("etl_runs WHERE status = 'running'"), 0);
  EXPECT_EQ(this->probe_.count("etl_runs WHERE status = 'interrupted' AND finished_at IS NOT NULL AND "
                               "message LIKE '%process gone%'"),
            3);
}

TYPED_TEST(RunLock, KilledRunLeavesNoStaleLock) {
  auto killed = this->start_run(kKeyAlpha);
  ASSERT_TRUE(wait_for([&] { return this->requests_by(kKeyAlpha) >= 1; })) << killed->stderr_so_far();
  ASSERT_TRUE(contains(killed->stderr_so_far(), "took the run lock")) << killed->stderr_so_far();
  killed->signal(SIGKILL);
  EXPECT_EQ(killed->wait().exit_code, 128 + SIGKILL);
  ASSERT_TRUE(this->no_job_session_left()) << "PostgreSQL kept the killed run's session";

  auto next = this->start_run(kKeyBeta);
  const ProcessResult r = next->wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "another run holds the lock")) << r.err;
  EXPECT_TRUE(contains(r.err, "took the run lock")) << r.err;
  EXPECT_EQ(this->requests_by(kKeyBeta), kCells);
  EXPECT_EQ(this->probe_.count("customer_metrics"), kCells);
}

}  // namespace
}  // namespace qetl::test
