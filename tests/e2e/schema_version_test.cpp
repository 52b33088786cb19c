// The binary against a warehouse whose schema is newer than the binary (a newer release has
// migrated it): run and migrate refuse with exit 74 and a message naming both versions, before
// any request to the API and without writing a thing.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"

namespace qetl::test {
namespace {

void exec_sql(const SqliteProbe& probe, const std::string& sql) {
  SQLite::Database db(probe.path(), SQLite::OPEN_READWRITE);
  db.exec(sql);
}
void exec_sql(const PostgresProbe& probe, const std::string& sql) {
  pqxx::connection c(PgTestDatabase::instance().conninfo());
  c.set_variable("search_path", c.quote_name(probe.schema()));
  pqxx::work w(c);
  w.exec(sql);
  w.commit();
}

// A timestamp literal each backend stores as this UTC instant.
std::string at(const SqliteProbe&, const std::string& utc) { return "'" + utc + "'"; }
std::string at(const PostgresProbe&, const std::string& utc) { return "'" + utc + "+00'"; }

template <typename Probe>
class NewerSchema : public ::testing::Test {
 protected:
  NewerSchema() : probe_(dir_), mock_({"--keys", kKeyAlpha}) {
    write_file(dir_.file("config.toml"), R"([api]
base_url = ")" + mock_.base_url() + R"("
requests_per_minute = 60000
max_attempts = 1

[warehouse]
)" + probe_.config_lines() + R"(
[[project]]
name = "alpha"
api_key = { env = "E2E_KEY_ALPHA" }

[[window]]
name = "all_time"
from = "2025-01-01"

[matrix]
target_platform = ["*", "iOS"]
)");
  }

  ProcessResult etl(std::vector<std::string> args) {
    args.insert(args.begin(), QETL_BINARY);
    args.push_back("--config");
    args.push_back(dir_.file("config.toml"));
    return run_process(args, {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir_.path().string());
  }

  int requests_seen() {
    rapidjson::Document d;
    d.Parse(mock_.stats_json().c_str());
    return d["requests_total"].GetInt();
  }

  // Migrates with this binary, then records what a newer release would have: its migration and
  // a run of its own. Returns the binary's own latest version.
  int make_schema_newer() {
    const ProcessResult migrated = etl({"migrate"});
    EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
    const int latest = std::stoi(*probe_.query("SELECT max(version) AS v FROM schema_migrations").at(0).at("v"));
    exec_sql(probe_, "INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(latest + 1) +
                         ", 'from_a_newer_release')");
    exec_sql(probe_, "INSERT INTO etl_runs (run_id, started_at, snapshot_at, status, version, config_sha256, host) "
                     "VALUES ('run-of-the-newer-release', " + at(probe_, "2026-10-31 03:00:00") + ", " +
                         at(probe_, "2026-10-31 00:00:00") + ", 'succeeded', '9.9.9', '" + std::string(64, 'e') +
                         "', 'etl-2.internal')");
    return latest;
  }

  void expect_refused(const ProcessResult& r, int latest) {
    EXPECT_EQ(r.exit_code, 74) << r.err;
    EXPECT_TRUE(contains(r.err, "database schema is version " + std::to_string(latest + 1))) << r.err;
    EXPECT_TRUE(contains(r.err, "this binary knows up to " + std::to_string(latest))) << r.err;
    EXPECT_TRUE(contains(r.err, "upgrade qonversion-etl")) << r.err;
    EXPECT_EQ(requests_seen(), 0);
    EXPECT_EQ(probe_.count("etl_runs"), 1);
    EXPECT_EQ(probe_.count("customer_metrics"), 0);
    EXPECT_EQ(probe_.count("schema_migrations"), latest + 1);
  }

  TempDir dir_;
  Probe probe_;
  MockApiServer mock_;
};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(NewerSchema, Backends);

TYPED_TEST(NewerSchema, RunExits74NamingBothVersionsBeforeAnyRequestAndWritesNothing) {
  const int latest = this->make_schema_newer();
  this->expect_refused(this->etl({"run", "--snapshot", "2026-11-01"}), latest);
}

TYPED_TEST(NewerSchema, DryRunIsRefusedLikeTheRunItStandsFor) {
  const int latest = this->make_schema_newer();
  this->expect_refused(this->etl({"run", "--dry-run", "--snapshot", "2026-11-01"}), latest);
}

TYPED_TEST(NewerSchema, MigrateExits74NamingBothVersionsAndChangesNothing) {
  const int latest = this->make_schema_newer();
  this->expect_refused(this->etl({"migrate"}), latest);
}

}  // namespace
}  // namespace qetl::test
