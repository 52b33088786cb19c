// What a run records is what it stored, on both warehouses (SPEC "Behaviour under faults"): a
// row the warehouse refuses fails only its own cell, with the database's reason, and the rest
// of its batch is stored; a warehouse that refuses the work ends the run with 74, and the
// summary line, etl_runs (where the warehouse still answers) and the metrics file count only
// the rows that were committed.
#include <type_traits>

#include "e2e/fault_scenario.hpp"

namespace qetl::test {
namespace {

template <typename Probe>
class TrueRecords : public ::testing::Test {};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(TrueRecords, Backends);

// key=value fields of the summary line ("run <status> ...").
std::map<std::string, std::string> summary_of(const std::string& err) {
  std::istringstream lines(err);
  std::string line, summary;
  while (std::getline(lines, line)) {
    if (line.find(" run succeeded") != std::string::npos || line.find(" run partial") != std::string::npos ||
        line.find(" run failed") != std::string::npos) {
      summary = line;
    }
  }
  std::map<std::string, std::string> fields;
  std::istringstream words(summary);
  std::string word;
  while (words >> word) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

TYPED_TEST(TrueRecords, ARowTheWarehouseRefusesFailsOnlyItsOwnCell) {
  Scenario<TypeParam> s;
  s.start_mock({});
  s.write_config(ConfigSpec{});
  ASSERT_EQ(s.etl({"migrate"}).exit_code, 0);
  // A DBA's rule the job does not know about refuses one cell's row.
  if constexpr (std::is_same<TypeParam, PostgresProbe>::value) {
    s.probe_.execute("ALTER TABLE customer_metrics ADD CONSTRAINT no_gb CHECK (country IS DISTINCT FROM 'GB')");
  } else {
    s.probe_.execute("CREATE TRIGGER no_gb BEFORE INSERT ON customer_metrics WHEN NEW.country = 'GB' "
                   "BEGIN SELECT RAISE(ABORT, 'no GB rows here'); END");
  }
  const ProcessResult r = s.etl();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(s.rows(), 3) << "the good rows of the batch are stored";
  EXPECT_EQ(s.expect_rows_match_answers(), 3);
  const auto failures = s.probe_.query("SELECT segment, error FROM etl_cell_failures");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].at("segment"), "country=GB");
  const std::string error = failures[0].at("error").value_or("");
  EXPECT_TRUE(contains(error, "the warehouse refused the row")) << error;
  EXPECT_TRUE(contains(error, "no_gb") || contains(error, "no GB rows here")) << error;
  const SqlRow run = s.run_row();
  EXPECT_EQ(run.at("status"), "partial");
  EXPECT_EQ(run.at("cells_succeeded"), "3");
  EXPECT_EQ(run.at("cells_failed"), "1");
  EXPECT_EQ(run.at("rows_upserted"), "3");
  const auto summary = summary_of(r.err);
  EXPECT_EQ(summary.at("cells_stored"), "3") << r.err;
  EXPECT_EQ(summary.at("cells_failed"), "1") << r.err;
  s.expect_no_key_anywhere();
}

TYPED_TEST(TrueRecords, AWarehouseThatRefusesTheWorkIsNotCountedAsStored) {
  Scenario<TypeParam> s;
  s.start_mock({"--latency-ms", "300"});
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\", \"IT\", \"ES\", \"NL\"]\n";
  s.write_config(spec);
  ASSERT_EQ(s.etl().exit_code, 0);  // a night already loaded: the tables exist
  s.snapshot = "2026-11-21";
  // The job gives up waiting on a lock after a second (PostgreSQL's lock_timeout, as a DBA sets
  // it; SQLite's busy timeout is the job's own 10 s).
  s.extra_env["PGOPTIONS"] = "-c lock_timeout=1000";
  const std::string metrics = s.dir_.file("etl.prom");
  auto job = s.start_etl({"run", "--metrics-file", metrics});
  ASSERT_TRUE(await([&] { return contains(job->stderr_so_far(), "run started"); }, std::chrono::seconds(20)))
      << job->stderr_so_far();
  auto blocker = s.probe_.hold_write_lock_on("customer_metrics");  // a BI tool's long transaction
  const Watchdog watchdog(job->pid(), std::chrono::seconds(60));
  const ProcessResult r = s.finish(*job);
  blocker.reset();
  EXPECT_EQ(r.exit_code, 74) << r.err;
  EXPECT_EQ(s.rows("snapshot_at > (SELECT min(snapshot_at) FROM customer_metrics)"), 0);
  const auto summary = summary_of(r.err);
  EXPECT_EQ(summary.at("cells_stored"), "0") << r.err;
  EXPECT_EQ(summary.at("rows_upserted"), "0") << r.err;
  const std::string text = slurp(metrics);
  EXPECT_TRUE(contains(text, "qonversion_etl_last_run_cells{outcome=\"succeeded\"} 0")) << text;
  EXPECT_TRUE(contains(text, "qonversion_etl_last_run_status{status=\"failed\"} 1")) << text;
  if constexpr (std::is_same<TypeParam, PostgresProbe>::value) {
    // PostgreSQL still answers for etl_runs (only customer_metrics was locked).
    const SqlRow run = s.run_row("status <> 'succeeded'");
    EXPECT_EQ(run.at("status"), "failed");
    EXPECT_EQ(run.at("cells_succeeded"), "0");
    EXPECT_EQ(run.at("rows_upserted"), "0");
  }
  s.expect_no_key_anywhere();
}

}  // namespace
}  // namespace qetl::test
