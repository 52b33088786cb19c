// The installed service's ExecStart= line, run exactly as written, the way systemd starts it:
// a clean environment, UMask=, $STATE_DIRECTORY from StateDirectory= and $CREDENTIALS_DIRECTORY
// holding the file LoadCredential= names. The installed default config is used as it is, but for
// the API's address and pace (the mock's). The rows must land in $STATE_DIRECTORY/metrics.sqlite.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "common/mock_api_server.hpp"
#include "install/install_support.hpp"

namespace qetl::test {
namespace {

// Obviously fake (real keys are 32 alphanumerics).
const std::string kServiceKey = "install_test_key";

long long requests_total(const MockApiServer& mock) {
  rapidjson::Document d;
  d.Parse(mock.stats_json().c_str());
  return d["requests_total"].GetInt64();
}

struct StoredRun {
  long long rows = 0;
  long long rows_with_null = 0;
  long long runs = 0;
  long long cells_planned = 0;  // of the last run
  std::string status;           // of the last run
};

StoredRun read_warehouse(const std::string& sqlite_path) {
  SQLite::Database db(sqlite_path, SQLite::OPEN_READONLY);
  StoredRun s;
  s.rows = db.execAndGet("SELECT count(*) FROM customer_metrics").getInt64();
  s.rows_with_null = db.execAndGet(
                           "SELECT count(*) FROM customer_metrics WHERE clients_with_event IS NULL OR "
                           "active_subscribers IS NULL OR active_trials IS NULL OR billing_retry IS NULL OR "
                           "churned_subscribers IS NULL OR canceled_trials IS NULL OR avg_payment_count IS NULL OR "
                           "avg_price IS NULL OR sales IS NULL OR snapshot_at IS NULL OR fetched_at IS NULL OR "
                           "run_id IS NULL OR project IS NULL OR window_name IS NULL OR segment IS NULL")
                           .getInt64();
  s.runs = db.execAndGet("SELECT count(*) FROM etl_runs").getInt64();
  SQLite::Statement last(db, "SELECT cells_planned, status FROM etl_runs ORDER BY started_at DESC, rowid DESC LIMIT 1");
  if (last.executeStep()) {
    s.cells_planned = last.getColumn(0).getInt64();
    s.status = last.getColumn(1).getString();
  }
  return s;
}

// The cell count `plan` reports for a config: "132 cells across 1 project(s); ...".
long long planned_cells(const std::string& binary, const std::string& config, const std::string& scratch) {
  const ProcessResult plan = spawn({binary, "plan", "--config", config}, {{"PATH", "/usr/bin:/bin"}}, scratch);
  if (plan.exit_code != 0) throw std::runtime_error("plan failed: " + plan.err);
  const auto at = plan.out.rfind(" cells across ");
  if (at == std::string::npos) throw std::runtime_error("no cell count in: " + plan.out);
  const auto line = plan.out.rfind('\n', at);
  return std::stoll(plan.out.substr(line == std::string::npos ? 0 : line + 1));
}

// The snapshot is "now" truncated to the day: two runs meant for the same snapshot must not
// straddle midnight UTC. Waits past it when it is less than a minute away.
void stay_within_one_utc_day() {
  const std::time_t now = std::time(nullptr);
  const long long into_day = static_cast<long long>(now % 86400);
  if (86400 - into_day < 60) std::this_thread::sleep_for(std::chrono::seconds(86400 - into_day + 1));
}

class ServiceExecStart : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProcessResult install = cmake_install(prefix(), "", scratch());
    ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  }

  std::string prefix() const { return dir_.file("prefix"); }
  std::string host_root() const { return dir_.file("host"); }
  std::string scratch() const { return dir_.path().string(); }
  UnitFile unit(const std::string& file) const { return UnitFile::read(prefix() + "/lib/systemd/system/" + file); }

  // The installed default config (`source`) at the path ExecStart= names, pointed at the mock.
  void write_config(const ServiceStart& service, const std::string& source, const MockApiServer& mock,
                    const std::string& extra_edit = "") {
    std::string text = slurp(source);
    ASSERT_FALSE(text.empty()) << source;
    text = replace_line(text, "base_url = ", "base_url = \"" + mock.base_url() + "\"");
    text = replace_line(text, "requests_per_minute = ", "requests_per_minute = 60000");
    if (!extra_edit.empty()) text = replace_line(text, extra_edit.substr(0, extra_edit.find('=') + 1), extra_edit);
    const std::string config = option_value(service.argv, "--config");
    ASSERT_FALSE(config.empty()) << "ExecStart= passes no --config";
    write_text(config, text);
  }

  // The key where LoadCredential= reads it: a root-only file, as the documentation says.
  static void write_key_files(const ServiceStart& service, const std::string& key) {
    for (const auto& [name, source] : service.credentials) write_text(source, key + "\n", 0600);
  }

  TempDir dir_;
};

TEST_F(ServiceExecStart, ExactCommandLineFillsTheStateDirectory) {
  MockApiServer mock({"--keys", kServiceKey, "--customers", "2000"});
  const ServiceStart service = service_start(unit("qonversion-etl.service"), "qonversion-etl.service", host_root());

  // The line names the staged binary and the staged config, nothing of the host's /usr or /etc.
  ASSERT_EQ(service.argv.at(0), prefix() + "/bin/qonversion-etl");
  const std::string config = option_value(service.argv, "--config");
  ASSERT_EQ(config, prefix() + "/etc/qonversion-etl/config.toml");
  ASSERT_TRUE(fs::is_regular_file(config)) << "the install put no config where ExecStart= looks: " << config;
  ASSERT_EQ(service.state_directories, std::vector<std::string>{host_root() + "/var/lib/qonversion-etl"});
  ASSERT_EQ(service.credentials.size(), 1u);
  EXPECT_EQ(service.credentials[0].first, "qonversion-api-key");  // what the config's credential names

  write_config(service, config, mock);
  write_key_files(service, kServiceKey);
  const long long cells = planned_cells(service.argv[0], config, scratch());
  EXPECT_EQ(cells, 132) << "the installed config's comment promises 132 cells";

  stay_within_one_utc_day();
  const ProcessResult first = service.start(scratch());
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // No terminal under systemd: log lines only, no progress line.
  EXPECT_FALSE(has(first.err, "\r")) << first.err;
  EXPECT_FALSE(has(first.out + first.err, kServiceKey)) << "the key leaked into the output";

  const std::string sqlite = host_root() + "/var/lib/qonversion-etl/metrics.sqlite";
  ASSERT_TRUE(fs::is_regular_file(sqlite)) << "no " << sqlite << "; the job said:\n" << first.err;
  StoredRun stored = read_warehouse(sqlite);
  EXPECT_EQ(stored.rows, cells);
  EXPECT_EQ(stored.cells_planned, cells);
  EXPECT_EQ(stored.rows_with_null, 0);
  EXPECT_EQ(stored.status, "succeeded");
  EXPECT_EQ(requests_total(mock), cells);
  // UMask=0077: the warehouse is the job's alone.
  EXPECT_EQ(fs::status(sqlite).permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);

  // Started again the same day (by hand, or a restart after the run had in fact finished):
  // --resume finds every cell stored and sends nothing.
  const ProcessResult again = service.start(scratch());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(requests_total(mock), cells);
  stored = read_warehouse(sqlite);
  EXPECT_EQ(stored.rows, cells);
  EXPECT_EQ(stored.runs, 2);
}

// A night that ends with failed cells exits 1, which Restart=on-failure restarts; the restart
// runs the same line and fetches only the cells still missing.
TEST_F(ServiceExecStart, RestartAfterAPartialRunFetchesOnlyTheMissingCells) {
  const ServiceStart service = service_start(unit("qonversion-etl.service"), "qonversion-etl.service", host_root());
  const std::string config = option_value(service.argv, "--config");
  write_key_files(service, kServiceKey);
  const std::string sqlite = host_root() + "/var/lib/qonversion-etl/metrics.sqlite";
  stay_within_one_utc_day();

  long long failed = 0, cells = 0;
  {
    // Every cell filtered on the US fails for good (one attempt: no backoff to wait for).
    MockApiServer flaky({"--keys", kServiceKey, "--customers", "2000", "--fail-segment", "country=US"});
    write_config(service, prefix() + "/share/qonversion-etl/config.toml", flaky, "max_attempts = 1");
    cells = planned_cells(service.argv[0], config, scratch());
    const ProcessResult partial = service.start(scratch());
    ASSERT_EQ(partial.exit_code, 1) << partial.out << partial.err;
    EXPECT_EQ(service.restart, "on-failure");
    EXPECT_EQ(service.restart_prevent_exit_status.count(1), 0u) << "exit 1 must be retried";
    const StoredRun stored = read_warehouse(sqlite);
    failed = cells - stored.rows;
    EXPECT_GT(failed, 0);
    EXPECT_EQ(stored.status, "partial");
  }
  MockApiServer healthy({"--keys", kServiceKey, "--customers", "2000"});
  write_config(service, prefix() + "/share/qonversion-etl/config.toml", healthy, "max_attempts = 1");
  const ProcessResult restart = service.start(scratch());
  ASSERT_EQ(restart.exit_code, 0) << restart.out << restart.err;
  EXPECT_EQ(requests_total(healthy), failed);
  const StoredRun stored = read_warehouse(sqlite);
  EXPECT_EQ(stored.rows, cells);
  EXPECT_EQ(stored.rows_with_null, 0);
  EXPECT_EQ(stored.status, "succeeded");
}

// What will fail the same way until someone changes something is not restarted: the exit codes
// the job gives for a rejected key and a bad config are in RestartPreventExitStatus=.
TEST_F(ServiceExecStart, NoRestartForAWrongKeyOrABadConfig) {
  const ServiceStart service = service_start(unit("qonversion-etl.service"), "qonversion-etl.service", host_root());
  const std::string config = option_value(service.argv, "--config");
  EXPECT_EQ(service.restart_prevent_exit_status, (std::set<int>{64, 65, 77, 78}));

  MockApiServer mock({"--keys", "some_other_key", "--customers", "200"});
  write_config(service, config, mock);
  write_key_files(service, kServiceKey);
  const ProcessResult rejected = service.start(scratch());
  EXPECT_EQ(rejected.exit_code, 77) << rejected.err;
  EXPECT_EQ(service.restart_prevent_exit_status.count(rejected.exit_code), 1u);

  write_text(config, slurp(config) + "\nunknown_key = 1\n");
  const ProcessResult bad_config = service.start(scratch());
  EXPECT_EQ(bad_config.exit_code, 78) << bad_config.err;
  EXPECT_EQ(service.restart_prevent_exit_status.count(bad_config.exit_code), 1u);
}

// One instance of the template per app: /etc/qonversion-etl/myapp.toml (a copy of the default
// config), myapp.api-key, and its own state directory.
TEST_F(ServiceExecStart, TemplateInstanceUsesItsOwnConfigKeyAndStateDirectory) {
  MockApiServer mock({"--keys", kServiceKey, "--customers", "2000"});
  const ServiceStart service =
      service_start(unit("qonversion-etl@.service"), "qonversion-etl@myapp.service", host_root());
  ASSERT_EQ(service.argv.at(0), prefix() + "/bin/qonversion-etl");
  const std::string config = option_value(service.argv, "--config");
  EXPECT_EQ(config, prefix() + "/etc/qonversion-etl/myapp.toml");
  ASSERT_EQ(service.state_directories, std::vector<std::string>{host_root() + "/var/lib/qonversion-etl/myapp"});
  ASSERT_EQ(service.credentials.size(), 1u);
  EXPECT_EQ(service.credentials[0].first, "qonversion-api-key");
  EXPECT_EQ(service.credentials[0].second, prefix() + "/etc/qonversion-etl/myapp.api-key");

  write_config(service, prefix() + "/share/qonversion-etl/config.toml", mock);
  write_key_files(service, kServiceKey);
  const long long cells = planned_cells(service.argv[0], config, scratch());
  const ProcessResult run = service.start(scratch());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const StoredRun stored = read_warehouse(host_root() + "/var/lib/qonversion-etl/myapp/metrics.sqlite");
  EXPECT_EQ(stored.rows, cells);
  EXPECT_EQ(stored.cells_planned, cells);
  EXPECT_EQ(stored.rows_with_null, 0);
  EXPECT_FALSE(fs::exists(host_root() + "/var/lib/qonversion-etl/metrics.sqlite"));
}

}  // namespace
}  // namespace qetl::test
