// PostgreSQL-only behaviour: comments for BI tools, application_name, schema handling,
// reconnection, time zones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/pg_test_db.hpp"
#include "util/errors.hpp"
#include "util/time.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test {
namespace {

constexpr const char* kSchema = "qetl_test";

class PostgresWarehouseTest : public ::testing::Test {
 protected:
  void SetUp() override { db().reset_schema(kSchema); }

  static PgTestDatabase& db() { return PgTestDatabase::instance(); }

  pqxx::result query(const std::string& sql) {
    pqxx::connection c(db().conninfo());
    pqxx::work w(c);
    pqxx::result r = w.exec(sql);
    w.commit();
    return r;
  }

  static MetricsRow row() {
    MetricsRow r;
    r.snapshot_at = parse_utc_timestamp("2024-03-10");
    r.project = "my-app";
    r.window_name = "daily_cohorts";
    r.window_kind = "cohort";
    r.window_from = parse_utc_timestamp("2024-03-09");
    r.window_to = r.snapshot_at;
    r.segment = "all";
    r.fetched_at = r.snapshot_at + 90;
    r.run_id = "run-1";
    return r;
  }
};

TEST_F(PostgresWarehouseTest, EveryTableAndColumnCarriesAComment) {
  open_warehouse(db().uri(), kSchema)->migrate();
  const std::string schema = pqxx::connection(db().conninfo()).quote(std::string(kSchema));
  const pqxx::result tables = query(
      "SELECT c.relname, COALESCE(obj_description(c.oid, 'pg_class'), '') FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = " + schema + " AND c.relkind = 'r'");
  EXPECT_EQ(tables.size(), 8u);  // 001: four; 002: etl_run_locks; 005: etl_data_checks; 007: two trend tables
  for (const auto& t : tables) EXPECT_GT(t[1].size(), 20u) << "table " << t[0].c_str() << " has no useful comment";
  const pqxx::result columns = query(
      "SELECT c.relname || '.' || a.attname, COALESCE(col_description(c.oid, a.attnum), '') FROM pg_attribute a "
      "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = " + schema + " AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped");
  EXPECT_GT(columns.size(), 50u);
  for (const auto& c : columns) EXPECT_GT(c[1].size(), 10u) << "column " << c[0].c_str() << " has no useful comment";
}

TEST_F(PostgresWarehouseTest, SessionsShowTheApplicationName) {
  const std::string sessions =
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND application_name = 'qonversion-etl'";
  for (const std::string& target : {db().uri(), db().conninfo()}) {
    auto w = open_warehouse(target, kSchema);
    w->migrate();
    EXPECT_EQ(query(sessions)[0][0].as<int>(), 1) << target;
    w.reset();
    // A closed session leaves pg_stat_activity asynchronously; wait so the next form is counted alone.
    for (int i = 0; i < 100 && query(sessions)[0][0].as<int>() != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

TEST_F(PostgresWarehouseTest, AnApplicationNameSetByTheUserIsKept) {
  auto w = open_warehouse(db().conninfo() + " application_name=nightly-etl-eu", kSchema);
  const pqxx::result r = query(
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
      "AND application_name = 'nightly-etl-eu'");
  EXPECT_EQ(r[0][0].as<int>(), 1);
}

TEST_F(PostgresWarehouseTest, AfterTheServerDropsTheSessionWritesStillGoToTheConfiguredSchema) {
  auto w = open_warehouse(db().uri(), kSchema);
  w->migrate();
  MetricsRow r = row();
  ASSERT_EQ(w->upsert_metrics({r}).rows_written, 1u);
  query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'qonversion-etl'");
  // libpqxx reconnects on a later call; until then each call is a WarehouseError, never a crash.
  r.segment = "after-reconnect";
  bool written = false;
  for (int attempt = 0; attempt < 5 && !written; ++attempt) {
    try {
      written = w->upsert_metrics({r}).rows_written == 1u;
    } catch (const WarehouseError& e) {
      EXPECT_NE(std::string(e.what()).find("connection"), std::string::npos) << e.what();
    }
  }
  ASSERT_TRUE(written);
  // The reconnected session kept its search_path: the row is in the configured schema.
  EXPECT_EQ(query("SELECT COUNT(*) FROM qetl_test.customer_metrics")[0][0].as<int>(), 2);
  EXPECT_EQ(query("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'customer_metrics'")[0][0].as<int>(), 1);
}

TEST_F(PostgresWarehouseTest, SchemaNameIsQuotedAsAnIdentifier) {
  const std::string odd = "Qetl \"Odd\" Schema; DROP";
  db().reset_schema(odd);
  auto w = open_warehouse(db().uri(), odd);
  w->migrate();
  EXPECT_EQ(w->upsert_metrics({row()}).rows_written, 1u);
  pqxx::connection c(db().conninfo());
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM " + tx.quote_name(odd) + ".customer_metrics")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'customer_metrics'")[0].as<int>(), 1);
  tx.commit();
  w.reset();
  db().reset_schema(odd);
}

TEST_F(PostgresWarehouseTest, SchemaCreatedBeforehandByADbaIsUsed) {
  query(std::string("CREATE SCHEMA ") + kSchema);
  auto w = open_warehouse(db().uri(), kSchema);
  EXPECT_EQ(w->migrate(), w->latest_schema_version());
  EXPECT_EQ(w->upsert_metrics({row()}).rows_written, 1u);
  EXPECT_EQ(query("SELECT COUNT(*) FROM qetl_test.customer_metrics")[0][0].as<int>(), 1);
}

TEST_F(PostgresWarehouseTest, TimestampsAreUtcInstantsWhateverTheSessionTimeZone) {
  ::setenv("PGTZ", "Asia/Kolkata", 1);  // the warehouse's session runs at +05:30
  std::unique_ptr<Warehouse> w;
  try {
    w = open_warehouse(db().uri(), kSchema);
  } catch (...) {
    ::unsetenv("PGTZ");
    throw;
  }
  ::unsetenv("PGTZ");
  w->migrate();
  const MetricsRow r = row();
  ASSERT_EQ(w->upsert_metrics({r}).rows_written, 1u);
  const pqxx::result got = query(
      "SELECT EXTRACT(EPOCH FROM snapshot_at)::bigint, EXTRACT(EPOCH FROM window_from)::bigint, "
      "EXTRACT(EPOCH FROM fetched_at)::bigint FROM qetl_test.customer_metrics");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0][0].as<UnixSeconds>(), r.snapshot_at);
  EXPECT_EQ(got[0][1].as<UnixSeconds>(), r.window_from);
  EXPECT_EQ(got[0][2].as<UnixSeconds>(), r.fetched_at);
  const auto cells = w->stored_cells(r.snapshot_at);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells.begin()->window_from, r.window_from);
}

// The server's WARNINGs (here from a trigger a DBA added) reach our log as one masked line each,
// never libpqxx's raw stderr text.
TEST_F(PostgresWarehouseTest, ServerWarningsAreLoggedWithThePasswordMasked) {
  const char* password = std::getenv("PGPASSWORD");
  ASSERT_NE(password, nullptr) << "pg_virtualenv sets PGPASSWORD";
  const std::string uri = db().uri();
  auto w = open_warehouse(uri + (uri.find('?') == std::string::npos ? "?" : "&") + "password=" + password, kSchema);
  w->migrate();
  query(std::string("CREATE FUNCTION qetl_test.warn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE WARNING 'audit: row by a session that knows ") + password +
        "'; RETURN NEW; END $$; CREATE TRIGGER warn BEFORE INSERT ON qetl_test.customer_metrics "
        "FOR EACH ROW EXECUTE FUNCTION qetl_test.warn()");
  std::FILE* captured = std::tmpfile();
  ASSERT_NE(captured, nullptr);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(::fileno(captured), 2);
  const std::size_t written = w->upsert_metrics({row()}).rows_written;
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::rewind(captured);
  std::string log;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, captured)) > 0;) log.append(buf, n);
  std::fclose(captured);
  EXPECT_EQ(written, 1u);
  EXPECT_NE(log.find("PostgreSQL: WARNING: audit: row by a session that knows ****"), std::string::npos) << log;
  EXPECT_EQ(log.find(password), std::string::npos) << log;
}

}  // namespace
}  // namespace qetl::test
