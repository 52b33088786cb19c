// The built binary against the mock API into both warehouses: every stored value is what the
// API answered for that cell, reruns update in place, new snapshots add rows.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "e2e/answer_check.hpp"
#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"
#include "util/time.hpp"

namespace qetl::test {
namespace {

// 3 project-environments x (1 fixed + 1 rolling + 2 weekly cohorts) x
// (3 platforms x 3 countries x 2 media sources - 2 excluded + 1 included) = 204 cells.
constexpr int kExpectedCells = 204;

std::string e2e_config(const std::string& base_url, const WarehouseProbe& probe) {
  return R"(snapshot_grain = "day"
max_cells = 1000

[api]
base_url = ")" + base_url + R"("
concurrency = 8
requests_per_minute = 60000
timeout_seconds = 10
max_attempts = 3

[warehouse]
)" + probe.config_lines() + R"(
[[project]]
name = "alpha"
api_key = { env = "E2E_KEY_ALPHA" }

[[project]]
name = "beta"
api_key = { file = "KEYFILE" }
environments = [0, 1]

[[window]]
name = "since_2025"
from = "2025-01-01"

[[window]]
name = "last_30_days"
last = "30d"

[[window]]
name = "weekly_cohorts"
each = "week"
count = 2

[matrix]
target_platform = ["*", "iOS", "Android"]
country = ["*", "US", { name = "EU", values = ["DE", "FR"] }]
media_source_name = ["*", "Google & Co"]

[[matrix.exclude]]
target_platform = "Android"
country = "US"

[[matrix.include]]
target_platform = "iOS"
country = "JP"
)";
}

template <typename Probe>
class FullRun : public ::testing::Test {
 protected:
  FullRun() : probe_(dir_), mock_({"--keys", kKeyAlpha + "," + kKeyBeta, "--answer-log", dir_.file("answers.jsonl")}) {
    write_file(dir_.file("beta.key"), kKeyBeta + "\n");
    std::string config = e2e_config(mock_.base_url(), probe_);
    config.replace(config.find("KEYFILE"), 7, dir_.file("beta.key"));
    write_file(dir_.file("config.toml"), config);
  }

  ProcessResult etl(std::vector<std::string> args) {
    args.insert(args.begin(), QETL_BINARY);
    args.push_back("--config");
    args.push_back(dir_.file("config.toml"));
    ProcessResult r = run_process(args, {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir_.path().string());
    outputs_ += r.out + r.err;
    return r;
  }

  // Every stored row equals the mock's answer to the request for that row's cell.
  void expect_rows_match_answers() {
    const auto answers = read_answer_log(dir_.file("answers.jsonl"));
    ASSERT_FALSE(answers.empty());
    const std::string sql = "SELECT project, environment, segment, window_kind, " + probe_.epoch("window_from") +
                            " AS wf, " + probe_.epoch("window_to") +
                            " AS wt, target_platform, country, media_source_name, search, status, clients_with_event, "
                            "active_subscribers, churned_subscribers, active_trials, canceled_trials, billing_retry, "
                            "avg_payment_count, avg_price, sales FROM customer_metrics";
    int checked = 0;
    for (const SqlRow& row : probe_.query(sql)) {
      std::map<std::string, std::vector<std::string>> filters;
      for (const char* dim : {"target_platform", "country", "media_source_name"}) {
        if (!row.at(dim)) continue;
        if (*row.at(dim) == "EU") {
          filters[dim] = {"DE", "FR"};
        } else {
          filters[dim] = {*row.at(dim)};
        }
      }
      EXPECT_FALSE(row.at("status"));  // never filtered in this matrix
      const std::string key = *row.at("project") == "alpha" ? kKeyAlpha : kKeyBeta;
      const std::string id = request_identity(key, std::stol(*row.at("environment")), std::stoll(*row.at("wf")),
                                              std::stoll(*row.at("wt")), filters, "");
      const auto it = answers.find(id);
      ASSERT_NE(it, answers.end()) << "no answer logged for " << id;
      ASSERT_EQ(it->second.status, 200);
      expect_row_equals_answer(row, it->second.body, probe_.name() == "postgresql", id);
      checked += 1;
    }
    EXPECT_EQ(checked, kExpectedCells);
  }

  TempDir dir_;
  Probe probe_;
  MockApiServer mock_;
  std::string outputs_;  // everything the job printed, for the key check
};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(FullRun, Backends);

TYPED_TEST(FullRun, PlanListsEveryCellWithTheKeyMasked) {
  const ProcessResult plan = this->etl({"plan", "--snapshot", "2026-11-20"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  std::istringstream lines(plan.out);
  std::string line, last;
  int cell_lines = 0;
  while (std::getline(lines, line)) {
    if (contains(line, "/v1/analytics/****/customers-metrics?")) cell_lines += 1;
    last = line;
  }
  EXPECT_EQ(cell_lines, kExpectedCells);
  EXPECT_TRUE(contains(last, std::to_string(kExpectedCells) + " cells")) << last;
  EXPECT_TRUE(contains(last, "estimated duration")) << last;
  EXPECT_TRUE(contains(plan.out, "filter[media_source_name][]=Google%20%26%20Co")) << "values are percent-encoded";
  EXPECT_FALSE(this->probe_.has_table("customer_metrics")) << "plan must not touch the warehouse";
  EXPECT_FALSE(contains(this->outputs_, kKeyAlpha));
  EXPECT_FALSE(contains(this->outputs_, kKeyBeta));
}

TYPED_TEST(FullRun, StoresWhatTheApiAnsweredAndRerunsUpdateInPlace) {
  const ProcessResult first = this->etl({"run", "--snapshot", "2026-11-20"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(this->probe_.count("customer_metrics"), kExpectedCells);
  this->expect_rows_match_answers();
  const auto run1 = this->probe_.query("SELECT DISTINCT run_id FROM customer_metrics");
  ASSERT_EQ(run1.size(), 1u);

  // The same snapshot again: rows updated in place by the new run, nothing duplicated.
  const ProcessResult again = this->etl({"run", "--snapshot", "2026-11-20T15:30:00Z"});  // truncated to the day
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(this->probe_.count("customer_metrics"), kExpectedCells);
  const auto run2 = this->probe_.query("SELECT DISTINCT run_id FROM customer_metrics");
  ASSERT_EQ(run2.size(), 1u);
  EXPECT_NE(run1[0].at("run_id"), run2[0].at("run_id"));

  // A new snapshot adds a new set.
  const ProcessResult next = this->etl({"run", "--snapshot", "2026-11-21"});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(this->probe_.count("customer_metrics"), 2 * kExpectedCells);
  EXPECT_EQ(this->probe_.count("customer_metrics WHERE " + this->probe_.epoch("snapshot_at") + " = " +
                               std::to_string(parse_utc_timestamp("2026-11-21"))),
            kExpectedCells);

  const auto runs = this->probe_.query("SELECT status, cells_planned, cells_succeeded, cells_failed, rows_upserted, "
                                       "requests_sent, finished_at FROM etl_runs");
  ASSERT_EQ(runs.size(), 3u);
  for (const SqlRow& r : runs) {
    EXPECT_EQ(r.at("status"), "succeeded");
    EXPECT_EQ(r.at("cells_planned"), std::to_string(kExpectedCells));
    EXPECT_EQ(r.at("cells_succeeded"), std::to_string(kExpectedCells));
    EXPECT_EQ(r.at("cells_failed"), "0");
    EXPECT_EQ(r.at("rows_upserted"), std::to_string(kExpectedCells));
    EXPECT_EQ(r.at("requests_sent"), std::to_string(kExpectedCells));
    EXPECT_TRUE(r.at("finished_at"));
  }
  EXPECT_EQ(this->probe_.count("schema_migrations"), this->probe_.count("schema_migrations WHERE version >= 1"));
  EXPECT_GE(this->probe_.count("schema_migrations"), 1);

  // The key is nowhere: not in what the job printed, not in any stored text.
  EXPECT_FALSE(contains(this->outputs_, kKeyAlpha));
  EXPECT_FALSE(contains(this->outputs_, kKeyBeta));
  for (const char* table : {"customer_metrics", "etl_runs", "etl_cell_failures"}) {
    for (const SqlRow& row : this->probe_.query(std::string("SELECT * FROM ") + table)) {
      for (const auto& [column, value] : row) {
        if (value) {
          EXPECT_FALSE(contains(*value, "e2e_key_")) << table << "." << column;
        }
      }
    }
  }
}

TYPED_TEST(FullRun, SegmentsAndDimensionColumnsDescribeTheFilters) {
  ASSERT_EQ(this->etl({"run", "--snapshot", "2026-11-20"}).exit_code, 0);
  const auto all = this->probe_.query(
      "SELECT target_platform, country, media_source_name FROM customer_metrics WHERE segment = 'all' AND project = 'alpha'");
  ASSERT_EQ(all.size(), 4u);  // one per window bucket
  EXPECT_FALSE(all[0].at("target_platform"));
  EXPECT_FALSE(all[0].at("country"));
  const auto group = this->probe_.query(
      "SELECT country, target_platform FROM customer_metrics WHERE segment = 'country=EU;target_platform=iOS'");
  ASSERT_EQ(group.size(), 3u * 4u);
  EXPECT_EQ(group[0].at("country"), "EU");
  EXPECT_EQ(this->probe_.count("customer_metrics WHERE target_platform = 'Android' AND country = 'US'"), 0);
  EXPECT_EQ(this->probe_.count("customer_metrics WHERE segment = 'country=JP;target_platform=iOS'"), 3 * 4);
  const auto kinds = this->probe_.query("SELECT DISTINCT window_kind FROM customer_metrics ORDER BY window_kind");
  ASSERT_EQ(kinds.size(), 3u);
  EXPECT_EQ(kinds[0].at("window_kind"), "cohort");
  EXPECT_EQ(kinds[1].at("window_kind"), "fixed");
  EXPECT_EQ(kinds[2].at("window_kind"), "rolling");
}

TYPED_TEST(FullRun, BadConfigExits78BeforeTouchingNetworkOrWarehouse) {
  std::string config = slurp(this->dir_.file("config.toml"));
  config.replace(config.find("\"US\""), 4, "\"usa\"");
  write_file(this->dir_.file("config.toml"), config);
  const ProcessResult r = this->etl({"run"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_TRUE(contains(r.err, this->dir_.file("config.toml") + ":")) << r.err;
  EXPECT_TRUE(contains(r.err, "matrix.country")) << r.err;
  EXPECT_TRUE(contains(r.err, "usa")) << r.err;
  EXPECT_FALSE(this->probe_.has_table("etl_runs"));
  EXPECT_TRUE(contains(this->mock_.stats_json(), "\"requests_total\": 0"))
      << this->mock_.stats_json();
}

TYPED_TEST(FullRun, MissingKeyVariableExits78NamingIt) {
  std::string config = slurp(this->dir_.file("config.toml"));
  config.replace(config.find("E2E_KEY_ALPHA"), 13, "E2E_KEY_UNSET");
  write_file(this->dir_.file("config.toml"), config);
  const ProcessResult r = this->etl({"run"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_TRUE(contains(r.err, "E2E_KEY_UNSET")) << r.err;
  EXPECT_FALSE(this->probe_.has_table("etl_runs"));
}

TYPED_TEST(FullRun, MigrateCreatesTheSchemaAndIsIdempotent) {
  ASSERT_EQ(this->etl({"migrate"}).exit_code, 0);
  ASSERT_EQ(this->etl({"migrate"}).exit_code, 0);
  for (const char* table : {"customer_metrics", "etl_runs", "etl_cell_failures", "schema_migrations"}) {
    EXPECT_TRUE(this->probe_.has_table(table)) << table;
  }
  EXPECT_GE(this->probe_.count("schema_migrations"), 1);
}

TEST(CommandLine, VersionHelpAndUsageErrors) {
  TempDir dir;
  const ProcessResult v = run_process({QETL_BINARY, "--version"}, {}, dir.path().string());
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_TRUE(contains(v.out, "qonversion-etl 0.")) << v.out;
  const ProcessResult h = run_process({QETL_BINARY, "--help"}, {}, dir.path().string());
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_TRUE(contains(h.out, "migrate")) << h.out;
  const ProcessResult bad = run_process({QETL_BINARY, "run", "--shard", "5/4", "-c", "/nonexistent.toml"}, {},
                                        dir.path().string());
  EXPECT_EQ(bad.exit_code, 64) << "a bad command line is reported before the config is read: " << bad.err;
  const ProcessResult usage = run_process({QETL_BINARY, "frobnicate"}, {}, dir.path().string());
  EXPECT_EQ(usage.exit_code, 64);
  EXPECT_TRUE(contains(usage.err, "frobnicate")) << usage.err;
}

}  // namespace
}  // namespace qetl::test
