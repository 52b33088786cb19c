// [bi]: after a run that stored rows the binary POSTs Metabase's /api/notify/db/{id} once,
// with the key from its source; a dry run or a run that stored nothing sends nothing; a
// Metabase that fails or cannot be reached is a warning, never a failed run; neither key
// shows up in the output or in the warehouse.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "bi/metabase_endpoint.hpp"
#include "e2e/e2e_support.hpp"

namespace qetl::test {
namespace {

// Shaped like a Metabase API key: base64 text with '+', '/' and a trailing '='.
const std::string kMetabaseKey = "mb_ZTJlLW1ldGFiYXNl+a2V5/Zm9yLXRlc3Rz=";
constexpr std::int64_t kDatabaseId = 3;
const std::string kSnapshot = "2026-01-01";

std::string config_for(const std::string& base_url, const std::string& metabase_url, const TempDir& dir) {
  return R"([api]
base_url = ")" + base_url + R"("
requests_per_minute = 60000
timeout_seconds = 5
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

[bi]
metabase_url = ")" + metabase_url + R"("
metabase_database_id = )" + std::to_string(kDatabaseId) + R"(
metabase_api_key = { file = ")" + dir.file("metabase-api-key") + R"(" }
)";
}

class MetabaseNotifyE2e : public ::testing::Test {
 protected:
  MetabaseNotifyE2e() : mock_({"--keys", kKeyAlpha, "--customers", "500"}) {
    write_file(dir_.file("metabase-api-key"), kMetabaseKey + "\n");
  }

  void write_config(const std::string& metabase_url) {
    write_file(dir_.file("config.toml"), config_for(mock_.base_url(), metabase_url, dir_));
  }

  ProcessResult etl(std::vector<std::string> args) {
    args.insert(args.begin(), QETL_BINARY);
    args.insert(args.end(), {"-c", dir_.file("config.toml"), "--snapshot", kSnapshot});
    ProcessResult r = run_process(args, {{"E2E_KEY_ALPHA", kKeyAlpha}}, dir_.path().string());
    outputs_ += r.out + r.err;
    return r;
  }

  std::int64_t stored_rows() {
    SQLite::Database db(dir_.file("m.sqlite"), SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM customer_metrics").getInt64();
  }

  // Neither key anywhere the job wrote: every output so far, every file of the warehouse
  // (the SQLite file and any -wal / -journal beside it).
  void expect_no_key_leaked() {
    for (const std::string& key : {kMetabaseKey, kKeyAlpha}) {
      EXPECT_FALSE(contains(outputs_, key)) << "a key in the output:\n" << outputs_;
      for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("m.sqlite", 0) != 0) continue;
        EXPECT_FALSE(contains(slurp(entry.path().string()), key)) << "a key in " << name;
      }
    }
  }

  TempDir dir_;
  MockApiServer mock_;
  std::string outputs_;
};

// The stderr lines at `level` that mention Metabase.
std::vector<std::string> metabase_lines(const std::string& err, const std::string& level) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (contains(line, " " + level + " ") && contains(line, "Metabase")) lines.push_back(line);
  }
  return lines;
}

TEST_F(MetabaseNotifyE2e, OneValidPostAfterARunThatStoredRowsNoneOtherwise) {
  MetabaseEndpoint metabase(kMetabaseKey, kDatabaseId);
  write_config(metabase.url());

  const ProcessResult run = etl({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(stored_rows(), 3);
  EndpointStats stats = metabase.stats();
  EXPECT_EQ(stats.requests_total, 1) << metabase.log_text();
  ASSERT_EQ(stats.valid_notifications, 1) << (stats.requests.empty() ? "" : stats.requests[0].verdict);
  EXPECT_EQ(stats.requests[0].method, "POST");
  EXPECT_EQ(stats.requests[0].path, "/api/notify/db/3");
  EXPECT_TRUE(stats.requests[0].key_matches);
  EXPECT_EQ(metabase_lines(run.err, "info").size(), 1u) << run.err;
  EXPECT_TRUE(metabase_lines(run.err, "warning").empty()) << run.err;

  // A dry run stores nothing: Metabase has nothing new to see.
  const ProcessResult dry = etl({"run", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(metabase.stats().requests_total, 1);

  // Every cell of the snapshot is stored already: --resume fetches and stores nothing.
  const ProcessResult resumed = etl({"run", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(metabase.stats().requests_total, 1);
  EXPECT_TRUE(metabase_lines(dry.err + resumed.err, "info").empty()) << dry.err << resumed.err;

  // A rerun that stores rows again notifies again: once per run.
  const ProcessResult rerun = etl({"run"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(metabase.stats().valid_notifications, 2);
  expect_no_key_leaked();
}

TEST_F(MetabaseNotifyE2e, MetabaseAnswering500IsAWarningNotAFailure) {
  // It also echoes the key it received: the job must not pass that on.
  MetabaseEndpoint metabase(kMetabaseKey, kDatabaseId, {"--status", "500", "--echo-key"});
  write_config(metabase.url());

  const ProcessResult run = etl({"run"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(stored_rows(), 3);
  EXPECT_EQ(metabase.stats().valid_notifications, 1) << "the request was right; Metabase failed";
  const auto warnings = metabase_lines(run.err, "warning");
  ASSERT_EQ(warnings.size(), 1u) << run.err;
  EXPECT_TRUE(contains(warnings[0], "500")) << warnings[0];
  EXPECT_TRUE(contains(warnings[0], "****")) << warnings[0];
  expect_no_key_leaked();
}

TEST_F(MetabaseNotifyE2e, UnreachableMetabaseIsAWarningNotAFailure) {
  write_config("http://127.0.0.1:" + std::to_string(unused_port()) + "/metabase");

  const ProcessResult run = etl({"run", "--log-format", "json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(stored_rows(), 3);
  std::vector<std::string> warnings;
  std::istringstream in(run.err);
  std::string line;
  while (std::getline(in, line)) {
    if (contains(line, "\"level\":\"warning\"") && contains(line, "Metabase")) warnings.push_back(line);
  }
  ASSERT_EQ(warnings.size(), 1u) << run.err;
  EXPECT_TRUE(contains(warnings[0], "connect failed")) << warnings[0];
  EXPECT_TRUE(contains(warnings[0], "/metabase/api/notify/db/3")) << warnings[0];
  expect_no_key_leaked();
}

TEST_F(MetabaseNotifyE2e, MissingMetabaseKeyIsAWarningNotAFailure) {
  MetabaseEndpoint metabase(kMetabaseKey, kDatabaseId);
  write_config(metabase.url());
  std::filesystem::remove(dir_.file("metabase-api-key"));

  const ProcessResult run = etl({"run"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(stored_rows(), 3);
  EXPECT_EQ(metabase.stats().requests_total, 0);
  const auto warnings = metabase_lines(run.err, "warning");
  ASSERT_EQ(warnings.size(), 1u) << run.err;
  EXPECT_TRUE(contains(warnings[0], "bi.metabase_api_key")) << warnings[0];
  expect_no_key_leaked();
}

}  // namespace
}  // namespace qetl::test
