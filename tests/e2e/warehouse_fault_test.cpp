// The warehouse failing: unreachable at start (exit 74 before any API request, password
// masked), and PostgreSQL dropping the job's session mid-run (the job reconnects and
// finishes; committed rows stay correct).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"

namespace qetl::test {
namespace {

std::string small_config(const std::string& base_url, const std::string& warehouse_lines, int latency_cells_months) {
  return R"([api]
base_url = ")" + base_url + R"("
concurrency = 2
requests_per_minute = 60000
timeout_seconds = 10
max_attempts = 2

[warehouse]
)" + warehouse_lines + R"(
[[project]]
name = "alpha"
api_key = { env = "E2E_KEY_ALPHA" }

[[window]]
name = "monthly"
each = "month"
count = )" + std::to_string(latency_cells_months) + R"(

[matrix]
target_platform = ["*", "iOS", "Android"]
)";
}

int requests_seen(const MockApiServer& mock) {
  rapidjson::Document d;
  d.Parse(mock.stats_json().c_str());
  return d["requests_total"].GetInt();
}

ProcessResult run_etl(const TempDir& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{QETL_BINARY, "run", "--config", dir.file("config.toml")};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(args, {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir.path().string());
}

TEST(WarehouseFaults, UnreachablePostgresExits74BeforeAnyRequestWithThePasswordMasked) {
  TempDir dir;
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500"});
  write_file(dir.file("config.toml"),
             small_config(mock.base_url(), "url = \"postgresql://etl:Sup3rSecretPw@127.0.0.1:1/analytics\"\n", 2));
  const ProcessResult r = run_etl(dir);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  EXPECT_TRUE(contains(r.err, "etl:****@127.0.0.1:1")) << r.err;
  EXPECT_FALSE(contains(r.err + r.out, "Sup3rSecretPw"));
  EXPECT_EQ(requests_seen(mock), 0);
}

TEST(WarehouseFaults, UnwritableSqlitePathExits74BeforeAnyRequest) {
  TempDir dir;
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500"});
  write_file(dir.file("not-a-dir"), "a file where a directory should be");
  write_file(dir.file("config.toml"),
             small_config(mock.base_url(), "url = \"sqlite://" + dir.file("not-a-dir/metrics.sqlite") + "\"\n", 2));
  const ProcessResult r = run_etl(dir);
  EXPECT_EQ(r.exit_code, 74) << r.err;
  EXPECT_TRUE(contains(r.err, "not-a-dir")) << r.err;
  EXPECT_EQ(requests_seen(mock), 0);
}

TEST(WarehouseFaults, PostgresDroppingTheSessionMidRunIsSurvived) {
  TempDir dir;
  PostgresProbe probe(dir);
  constexpr int kMonths = 40;  // x 3 platforms = 120 cells, ~6 s at 100 ms and 2 in flight
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "2000", "--latency-ms", "100"});
  write_file(dir.file("config.toml"), small_config(mock.base_url(), probe.config_lines(), kMonths));
  ChildProcess job({QETL_BINARY, "run", "--config", dir.file("config.toml"), "--snapshot", "2026-11-01"},
                   {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir.path().string());
  // Wait until the run is under way, then have the server end the job's session.
  while (requests_seen(mock) < 30) {
    ASSERT_LT(requests_seen(mock), 120) << "the run finished before the fault could be injected";
    std::this_thread::yield();
  }
  pqxx::connection admin(PgTestDatabase::instance().conninfo());
  pqxx::nontransaction w(admin);
  const pqxx::result killed = w.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'qonversion-etl' AND datname = current_database()");
  ASSERT_GE(killed.size(), 1u) << "the job's session was not found";

  const ProcessResult r = job.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(probe.count("customer_metrics"), 3 * kMonths);
  const auto runs = probe.query("SELECT status, cells_succeeded FROM etl_runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("status"), "succeeded");
  EXPECT_EQ(runs[0].at("cells_succeeded"), std::to_string(3 * kMonths));
}

}  // namespace
}  // namespace qetl::test
