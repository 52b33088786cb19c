// --metrics-file: the Prometheus textfile written atomically at the end of a run, failed runs
// included, keeping the last success of an earlier run.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "e2e/e2e_support.hpp"

namespace qetl::test {
namespace {

std::string config_for(const std::string& base_url, const TempDir& dir) {
  return R"([api]
base_url = ")" + base_url + R"("
requests_per_minute = 60000
max_attempts = 1

[warehouse]
url = "sqlite://)" + dir.file("m.sqlite") + R"("

[[project]]
name = "alpha"
api_key = { env = "E2E_KEY_ALPHA" }

[[window]]
name = "all_time"
from = "2020-01-01"

[matrix]
country = ["*", "US", "GB"]
)";
}

// The value of one sample line ("name{labels} value"), or -1 when absent.
long long sample(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + series.size() + 2));
}

TEST(MetricsFile, WrittenAfterEveryRunKeepingTheLastSuccess) {
  TempDir dir;
  const std::string metrics = dir.file("qonversion_etl.prom");
  {
    MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500"});
    write_file(dir.file("config.toml"), config_for(mock.base_url(), dir));
    const ProcessResult ok = run_process({QETL_BINARY, "run", "-c", dir.file("config.toml"), "--metrics-file", metrics},
                                         {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir.path().string());
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
  }
  const std::string first = "\n" + slurp(metrics);
  EXPECT_TRUE(contains(first, "# TYPE qonversion_etl_last_run_status gauge")) << first;
  EXPECT_TRUE(contains(first, "# HELP qonversion_etl_last_success_timestamp_seconds ")) << first;
  EXPECT_EQ(sample(first, "qonversion_etl_last_run_status{status=\"succeeded\"}"), 1);
  EXPECT_EQ(sample(first, "qonversion_etl_last_run_cells{outcome=\"planned\"}"), 3);
  EXPECT_EQ(sample(first, "qonversion_etl_last_run_rows_upserted"), 3);
  EXPECT_EQ(sample(first, "qonversion_etl_last_run_requests{code=\"200\"}"), 3);
  const long long success = sample(first, "qonversion_etl_last_success_timestamp_seconds");
  EXPECT_EQ(success, sample(first, "qonversion_etl_last_run_end_timestamp_seconds"));
  EXPECT_GT(success, 1700000000);

  // A partial run: its own figures, the earlier success kept.
  MockApiServer failing({"--keys", kKeyAlpha, "--customers", "500", "--fail-segment", "country=US"});
  write_file(dir.file("config.toml"), config_for(failing.base_url(), dir));
  const ProcessResult partial = run_process(
      {QETL_BINARY, "run", "-c", dir.file("config.toml"), "--metrics-file", metrics, "--snapshot", "2026-01-01"},
      {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir.path().string());
  ASSERT_EQ(partial.exit_code, 1) << partial.err;
  const std::string second = "\n" + slurp(metrics);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_status{status=\"partial\"}"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_status{status=\"succeeded\"}"), 0);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_cells{outcome=\"failed\"}"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_requests{code=\"500\"}"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_exit_code"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_success_timestamp_seconds"), success);
  // Per project: the `project` label on separate series.
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_project_cells{project=\"alpha\",outcome=\"planned\"}"), 3);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_project_cells{project=\"alpha\",outcome=\"failed\"}"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_project_requests{project=\"alpha\",code=\"500\"}"), 1);
  EXPECT_EQ(sample(second, "qonversion_etl_last_run_project_retries{project=\"alpha\"}"), 0);

  EXPECT_FALSE(contains(first + second, kKeyAlpha));
  // Every line is a comment or "name[{labels}] integer": what the textfile collector parses.
  const std::regex line_re(R"((# (HELP|TYPE) .*)|([a-z_0-9]+(\{[a-z_]+="[a-z0-9_]+"(,[a-z_]+="[a-z0-9_]+")*\})? -?[0-9]+))");
  std::istringstream lines(second.substr(1));
  std::string line;
  while (std::getline(lines, line)) EXPECT_TRUE(std::regex_match(line, line_re)) << line;
  // Written atomically: no temporary file left beside it.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("qonversion_etl.prom", 0) == 0) files += 1;
  }
  EXPECT_EQ(files, 1);
}

// A run that ends before it fetches anything (here: the warehouse cannot be opened) still
// leaves a file saying it failed, with the earlier success kept, so an alert fires.
TEST(MetricsFile, WrittenWhenTheRunFailsBeforeFetching) {
  TempDir dir;
  const std::string metrics = dir.file("qonversion_etl.prom");
  write_file(metrics, "qonversion_etl_last_success_timestamp_seconds 1700000000\n");
  MockApiServer mock({"--keys", kKeyAlpha});
  std::string config = config_for(mock.base_url(), dir);
  config.replace(config.find("sqlite://"), std::string("sqlite://").size() + dir.file("m.sqlite").size(),
                 "postgresql://etl:s3cret@127.0.0.1:1/none?connect_timeout=2");
  config = "metrics_file = \"" + metrics + "\"\n" + config;  // from the config this time
  write_file(dir.file("config.toml"), config);
  const ProcessResult r = run_process({QETL_BINARY, "run", "-c", dir.file("config.toml")},
                                      {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir.path().string());
  ASSERT_EQ(r.exit_code, 74) << r.err;
  const std::string text = "\n" + slurp(metrics);
  EXPECT_EQ(sample(text, "qonversion_etl_last_run_status{status=\"failed\"}"), 1) << text;
  EXPECT_EQ(sample(text, "qonversion_etl_last_run_exit_code"), 74);
  EXPECT_EQ(sample(text, "qonversion_etl_last_success_timestamp_seconds"), 1700000000);
  EXPECT_FALSE(contains(text, "s3cret"));
}

}  // namespace
}  // namespace qetl::test
