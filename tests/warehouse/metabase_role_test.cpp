// docs/metabase.md gives Metabase a read-only PostgreSQL role. Its SQL is taken from the guide
// itself (so the two cannot drift), run as the guide says, and then the role must run every
// shipped example query (unqualified names, as written) and must not be able to write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"

namespace qetl::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSource = QETL_SOURCE_DIR;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first ```sql block of the guide's "## PostgreSQL" section.
std::string guide_role_sql() {
  const std::string guide = read_text(kSource / "docs" / "metabase.md");
  const std::size_t section = guide.find("\n## PostgreSQL");
  if (section == std::string::npos) return "";
  const std::size_t open = guide.find("```sql\n", section);
  const std::size_t close = guide.find("\n```", open + 1);
  if (open == std::string::npos || close == std::string::npos) return "";
  return guide.substr(open + 7, close - open - 7);
}

// The guide's names (database analytics, schema qonversion, job role etl, role metabase_reader)
// replaced by this test's, whole words only.
std::string with_names(std::string sql, const std::vector<std::pair<std::string, std::string>>& names) {
  for (const auto& [from, to] : names) sql = std::regex_replace(sql, std::regex("\\b" + from + "\\b"), to);
  return sql;
}

std::vector<fs::path> examples() {
  std::vector<fs::path> files;
  for (const fs::path& dir : {kSource / "sql" / "examples", kSource / "sql" / "examples" / "postgres"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().extension() == ".sql") files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

MetricsRow row(UnixSeconds snapshot, const std::string& window, const std::string& kind, UnixSeconds from,
               const std::string& segment) {
  MetricsRow r;
  r.snapshot_at = snapshot;
  r.project = "my-app";
  r.window_name = window;
  r.window_kind = kind;
  r.window_from = from;
  r.window_to = kind == "cohort" ? from + 86400 : snapshot;
  r.segment = segment;
  if (segment.rfind("target_platform=", 0) == 0) r.dimensions[*dimension_index("target_platform")] = segment.substr(16);
  r.metrics = {1000 + snapshot % 7, 300, 40, 2, 10.5, 20.25, "1.5", "9.99", "1234.5"};
  r.fetched_at = snapshot + 60;
  r.run_id = "seed";
  return r;
}

class MetabaseRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = backend.open();
    w->migrate();
    std::vector<MetricsRow> rows;
    const UnixSeconds first = parse_utc_timestamp("2024-03-01");
    for (int day = 0; day < 20; ++day) {
      const UnixSeconds snapshot = first + day * 86400;
      for (const char* segment : {"all", "target_platform=iOS", "target_platform=Android"}) {
        rows.push_back(row(snapshot, "all_time", "fixed", parse_utc_timestamp("2015-01-01"), segment));
      }
      rows.push_back(row(snapshot, "daily_cohorts", "cohort", snapshot - 86400, "all"));
    }
    ASSERT_EQ(w->upsert_metrics(rows).rows_written, rows.size());
    // Written outside a run, as a DBA's INSERT would be: the trend views show them after a rebuild.
    w->rebuild_derived();
  }
  void TearDown() override {
    pqxx::connection admin(PgTestDatabase::instance().conninfo());
    pqxx::work tx(admin);
    if (tx.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role_)[0].as<bool>()) {
      tx.exec("DROP OWNED BY " + role_);
      tx.exec("DROP ROLE " + role_);
    }
    tx.commit();
  }

  // A session as the role, the way Metabase logs in.
  std::unique_ptr<pqxx::connection> as_role() const {
    return std::make_unique<pqxx::connection>("dbname=" + PgTestDatabase::instance().name() + " user=" + role_ +
                                              " password=" + kPassword);
  }
  void create_role_as_the_guide_says() {
    const std::string sql = guide_role_sql();
    ASSERT_THAT(sql, HasSubstr("CREATE ROLE metabase_reader"));
    pqxx::connection admin(PgTestDatabase::instance().conninfo());
    const std::string job_role = pqxx::work(admin).exec1("SELECT current_user")[0].as<std::string>();
    pqxx::work tx(admin);
    tx.exec(with_names(sql, {{"metabase_reader", role_},
                             {"analytics", tx.quote_name(PgTestDatabase::instance().name())},
                             {"qonversion", kTestSchema},
                             {"etl", tx.quote_name(job_role)},
                             {"choose-a-password", kPassword}}));
    tx.commit();
  }

  static constexpr const char* kPassword = "reader-pw-1";
  PostgresBackend backend;
  const std::string role_ = "metabase_reader_" + std::to_string(::getpid());
};

TEST_F(MetabaseRoleTest, TheGuidesRoleRunsEveryExampleQueryAsWritten) {
  create_role_as_the_guide_says();
  const auto files = examples();
  ASSERT_GE(files.size(), 2u);
  auto conn = as_role();
  for (const fs::path& file : files) {
    pqxx::work tx(*conn);
    try {
      const pqxx::result r = tx.exec(read_text(file));
      if (file.filename() == "active_subscribers_over_time.sql") {
        EXPECT_EQ(r.size(), 20u) << "the role reads the rows: one per day";
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << file.filename() << " failed as the guide's role: " << e.what();
    }
  }
}

TEST_F(MetabaseRoleTest, TheGuidesRoleCannotWrite) {
  create_role_as_the_guide_says();
  auto conn = as_role();
  const auto refused = [&](const std::string& sql) {
    try {
      pqxx::work tx(*conn);
      tx.exec(sql);
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string insert =
      "INSERT INTO etl_runs (run_id, started_at, snapshot_at, status, version, config_sha256, host) "
      "VALUES ('x', now(), now(), 'running', 'v', 's', 'h')";
  EXPECT_THAT(refused(insert), HasSubstr("read-only transaction"));
  EXPECT_THAT(refused("DELETE FROM customer_metrics"), HasSubstr("read-only transaction"));
  // Even when the native query turns read-only off, the role has no right to write.
  EXPECT_THAT(refused("SET TRANSACTION READ WRITE; " + insert), HasSubstr("permission denied"));
  EXPECT_THAT(refused("SET TRANSACTION READ WRITE; UPDATE customer_metrics SET sales = 0"),
              HasSubstr("permission denied"));
  EXPECT_THAT(refused("SET TRANSACTION READ WRITE; CREATE TABLE mine (x int)"), HasSubstr("permission denied"));
  EXPECT_EQ(backend.query("SELECT count(*) FROM etl_runs"), (Rows{{Value("0")}}));
  EXPECT_EQ(backend.query("SELECT count(*) FROM customer_metrics"), (Rows{{Value("80")}}));
}

}  // namespace
}  // namespace qetl::test
