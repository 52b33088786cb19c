// The data checks end to end, on both warehouses (SPEC "Data checks"): two nights from the
// mock, the second one answering what breaks a rule (a filtered cell above its superset, a
// night of zeros, counts that fall), and what a user sees: the finding in etl_data_checks with
// the right cell and numbers, the count in etl_runs, the metrics file, the log, exit 65 when
// [checks] fail_on says so, and `qonversion-etl check` on a stored snapshot. A consistent night
// has no finding at all.
#include "e2e/fault_scenario.hpp"

namespace qetl::test {
namespace {

template <typename Probe>
class DataChecks : public ::testing::Test {
 protected:
  // Night one, 2026-11-19, from a consistent mock.
  void load_first_night(ConfigSpec spec) {
    s.start_mock({});
    spec_ = std::move(spec);
    s.write_config(spec_);
    s.snapshot = "2026-11-19";
    const ProcessResult first = s.etl();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_EQ(s.probe_.count("etl_data_checks"), 0) << first.err;
  }

  // Night two, 2026-11-20, from a mock started with `mock_args`.
  ProcessResult second_night(std::vector<std::string> mock_args, std::vector<std::string> run = {"run"}) {
    s.start_mock(std::move(mock_args));
    spec_.base_url = "";
    s.write_config(spec_);
    s.snapshot = kSnapshot;
    return s.etl(std::move(run));
  }

  std::vector<SqlRow> findings(const std::string& where = "1 = 1") {
    return s.probe_.query("SELECT check_name, severity, project, environment, window_name, segment, metric, observed, "
                          "expected, message, run_id FROM etl_data_checks WHERE " + where +
                          " ORDER BY segment, metric, check_name");
  }

  // The stored value of `metric` for the cell `segment` of `snapshot`.
  double stored(const std::string& segment, const std::string& metric, const std::string& snapshot) {
    const auto rows = s.probe_.query("SELECT " + metric + " AS v FROM customer_metrics WHERE segment = '" + segment +
                                     "' AND " + s.probe_.epoch("snapshot_at") + " = " +
                                     std::to_string(parse_day(snapshot)));
    EXPECT_EQ(rows.size(), 1u) << segment << " " << snapshot;
    return rows.empty() ? -1 : std::stod(*rows[0].at("v"));
  }

  static long long parse_day(const std::string& day) {
    return day == "2026-11-19" ? 1795046400LL : 1795132800LL;  // 00:00 UTC of each night
  }

  Scenario<Probe> s;
  ConfigSpec spec_;
};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(DataChecks, Backends);

TYPED_TEST(DataChecks, ConsistentNightsHaveNoFinding) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\", { name = \"EU\", values = [\"DE\", \"FR\"] }, \"DE\"]\n"
                "target_platform = [\"*\", \"iOS\"]\n";
  this->load_first_night(spec);
  const ProcessResult r = this->second_night({});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(this->s.probe_.count("etl_data_checks"), 0) << r.err;
  EXPECT_TRUE(contains(r.err, "data checks: no finding")) << r.err;
  EXPECT_TRUE(contains(r.err, "data_check_findings=0")) << r.err;
  EXPECT_EQ(this->s.run_row("snapshot_at = (SELECT max(snapshot_at) FROM etl_runs)").at("data_check_findings"), "0");
}

TYPED_TEST(DataChecks, AFilteredCellAboveItsSupersetIsAnErrorNamingTheCell) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\"]\n";
  spec.tables = "[checks]\nfail_on = \"error\"\n";
  this->load_first_night(spec);
  const ProcessResult r = this->second_night({"--inflate", "country=US"});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_EQ(this->s.rows("segment = 'country=US'"), 2) << "the rows are stored all the same";
  const auto f = this->findings("check_name = 'subset_exceeds_superset'");
  ASSERT_FALSE(f.empty()) << r.err;
  for (const SqlRow& row : f) {
    EXPECT_EQ(row.at("segment"), "country=US");
    EXPECT_EQ(row.at("severity"), "error");
    EXPECT_EQ(row.at("project"), "alpha");
    const std::string metric = *row.at("metric");
    // observed is the US cell's stored value, expected its superset's (the unfiltered cell).
    EXPECT_DOUBLE_EQ(std::stod(*row.at("observed")), this->stored("country=US", metric, kSnapshot)) << metric;
    EXPECT_DOUBLE_EQ(std::stod(*row.at("expected")), this->stored("all", metric, kSnapshot)) << metric;
    EXPECT_DOUBLE_EQ(std::stod(*row.at("observed")), 3 * std::stod(*row.at("expected"))) << metric;
    EXPECT_TRUE(contains(*row.at("message"), "all")) << *row.at("message");
  }
  const std::string run_id = *f.front().at("run_id");
  EXPECT_EQ(this->s.run_row("run_id = '" + run_id + "'").at("data_check_findings"),
            std::to_string(this->s.probe_.count("etl_data_checks")));
  EXPECT_TRUE(contains(r.err, "subset_exceeds_superset")) << r.err;
  this->s.expect_no_key_anywhere();
}

TYPED_TEST(DataChecks, ANightOfZerosAfterANightWithCustomersIsAnError) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\"]\n";
  this->load_first_night(spec);
  const ProcessResult r = this->second_night({"--zero-answers"});
  EXPECT_EQ(r.exit_code, 0) << "fail_on defaults to never: " << r.err;
  const auto f = this->findings();
  ASSERT_EQ(f.size(), 3u) << r.err;  // one per cell that had customers the night before
  for (const SqlRow& row : f) {
    EXPECT_EQ(row.at("check_name"), "empty_after_nonempty");
    EXPECT_EQ(row.at("severity"), "error");
    EXPECT_EQ(std::stod(*row.at("observed")), 0);
    EXPECT_DOUBLE_EQ(std::stod(*row.at("expected")), this->stored(*row.at("segment"), "clients_with_event", "2026-11-19"));
  }
}

TYPED_TEST(DataChecks, CountsThatFallAreWarningsAndFailOnlyWhenAskedTo) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\"]\nstatus = [\"*\", \"2\"]\n";
  spec.tables = "[checks]\nfail_on = \"warning\"\nmin_count = 1\n";
  this->load_first_night(spec);
  const ProcessResult r = this->second_night({"--scale-counts", "0.3"});
  EXPECT_EQ(r.exit_code, 65) << r.err;
  // count_decreased only where no status filter is set; large_change for the other counts.
  const auto decreased = this->findings("check_name = 'count_decreased'");
  ASSERT_EQ(decreased.size(), 2u) << r.err;
  for (const SqlRow& row : decreased) {
    EXPECT_FALSE(contains(*row.at("segment"), "status=")) << *row.at("segment");
    EXPECT_EQ(row.at("severity"), "warning");
    EXPECT_EQ(row.at("metric"), "clients_with_event");
    EXPECT_LT(std::stod(*row.at("observed")), std::stod(*row.at("expected")));
  }
  EXPECT_FALSE(this->findings("check_name = 'large_change'").empty());
  EXPECT_TRUE(this->findings("severity = 'error'").empty());
}

TYPED_TEST(DataChecks, CheckRunsTheChecksAgainOnAStoredSnapshotWithNewThresholds) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\"]\n";
  this->load_first_night(spec);
  const ProcessResult run = this->second_night({"--scale-counts", "0.3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::int64_t before = this->s.probe_.count("etl_data_checks");
  ASSERT_GT(before, 0);
  const std::int64_t requests = this->s.requests_total();

  // Stricter settings: large_change from any previous value, and warnings fail.
  this->spec_.tables = "[checks]\nfail_on = \"warning\"\nmin_count = 0\nmax_change = 0.9\n";
  this->s.write_config(this->spec_);
  const ProcessResult check = this->s.etl({"check"});
  EXPECT_EQ(check.exit_code, 65) << check.err;
  EXPECT_EQ(this->s.requests_total(), requests) << "check asks the API nothing";
  const std::int64_t after = this->s.probe_.count("etl_data_checks");
  EXPECT_LT(after, before) << "max_change 0.9: a 70 % fall is no longer a large change";
  EXPECT_TRUE(contains(check.out, std::to_string(after) + " finding(s) for snapshot 2026-11-20T00:00:00Z")) << check.out;
  EXPECT_TRUE(contains(check.out, "count_decreased")) << check.out;

  // The first night has nothing before it: nothing to find, and its check says so.
  this->s.snapshot = "2026-11-19";
  const ProcessResult first = this->s.etl({"check"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(contains(first.out, "0 finding(s) for snapshot 2026-11-19")) << first.out;
  EXPECT_EQ(this->s.probe_.count("etl_data_checks"), after) << "another snapshot's findings stay";
}

TYPED_TEST(DataChecks, TheMetricsFileCountsFindingsByCheckAndSeverity) {
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\"]\n";
  this->load_first_night(spec);
  const std::string metrics = this->s.dir_.file("etl.prom");
  const ProcessResult r = this->second_night({"--zero-answers"}, {"run", "--metrics-file", metrics});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = slurp(metrics);
  EXPECT_TRUE(contains(text, "# TYPE qonversion_etl_last_run_data_check_findings gauge")) << text;
  EXPECT_TRUE(contains(
      text, "qonversion_etl_last_run_data_check_findings{check=\"empty_after_nonempty\",severity=\"error\"} 3"))
      << text;
  EXPECT_TRUE(contains(
      text, "qonversion_etl_last_run_data_check_findings{check=\"subset_exceeds_superset\",severity=\"error\"} 0"))
      << text;
}

}  // namespace
}  // namespace qetl::test
