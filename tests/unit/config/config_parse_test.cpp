// A full valid config is read into the typed Config, value by value.
#include <gtest/gtest.h>

#include <fstream>

#include "common/temp_dir.hpp"
#include "config_test_support.hpp"
#include "model/dimensions.hpp"

namespace qetl {
namespace {

const char* const kFullTemplate = R"(snapshot_grain = "hour"
max_cells = 500
metrics_file = "/var/lib/node/qetl.prom"

[api]
base_url = "http://127.0.0.1:8080/v1/analytics/"
concurrency = 8
requests_per_minute = 12.5
timeout_seconds = 7
max_attempts = 3
ca_file = "@CA_FILE@"

[warehouse]
url = "postgresql://etl@db/analytics"
schema = "q_metrics"

[[project]]
name = "ios-app"
api_key = { env = "KEY_IOS" }
environments = [1, 0]

[[project]]
name = "web"
api_key = { file = "/etc/qetl/web.key" }

[[project]]
name = "android"
api_key = { credential = "android-key" }
environments = [0]

[[window]]
name = "all_time"
from = "2015-01-01"
[[window]]
name = "since_launch"
from = 2020-02-29T12:30:00Z
[[window]]
name = "since_date"
from = 2021-03-01
[[window]]
name = "last_day"
last = "24h"
[[window]]
name = "fortnight"
last = "2w"
[[window]]
name = "weekly"
each = "week"
count = 4
[[window]]
name = "monthly"
each = "month"
count = 12

[matrix]
status = [1, "2", "*"]
country = ["*", "US", { name = "EU", values = ["DE", "FR"] }]
target_platform = ["*", "iOS"]
search = ["*", "gold; member"]

[[matrix.exclude]]
target_platform = "iOS"
country = "EU"

[[matrix.include]]
country = "EU"
status = "*"

[[matrix.include]]
country = "JP"
)";

// ca_file must be readable when the config is read: the full config names a file that exists.
const std::string& ca_file() {
  static const test::TempDir dir;
  static const std::string path = [] {
    std::ofstream(dir.file("extra.pem")) << "-----BEGIN CERTIFICATE-----\n";
    return dir.file("extra.pem");
  }();
  return path;
}

const std::string kFull = [] {
  std::string text = kFullTemplate;
  text.replace(text.find("@CA_FILE@"), 9, ca_file());
  return text;
}();

TEST(ConfigParse, TopLevelApiAndWarehouse) {
  const Config c = parse_config(kFull, "/etc/qonversion-etl/config.toml");
  EXPECT_EQ(c.path, "/etc/qonversion-etl/config.toml");
  EXPECT_EQ(c.snapshot_grain, SnapshotGrain::hour);
  EXPECT_EQ(c.max_cells, 500);
  ASSERT_TRUE(c.metrics_file.has_value());
  EXPECT_EQ(*c.metrics_file, "/var/lib/node/qetl.prom");
  EXPECT_EQ(c.api.base_url, "http://127.0.0.1:8080/v1/analytics");  // trailing slash dropped
  EXPECT_EQ(c.api.concurrency, 8);
  EXPECT_DOUBLE_EQ(c.api.requests_per_minute, 12.5);
  EXPECT_DOUBLE_EQ(c.api.timeout_seconds, 7);
  EXPECT_EQ(c.api.max_attempts, 3);
  ASSERT_TRUE(c.api.ca_file.has_value());
  EXPECT_EQ(*c.api.ca_file, ca_file());
  EXPECT_DOUBLE_EQ(c.api.max_retry_wait_seconds, 300);  // the defaults
  EXPECT_DOUBLE_EQ(c.api.give_up_after_seconds, 900);
  EXPECT_EQ(c.warehouse.url, "postgresql://etl@db/analytics");
  EXPECT_EQ(c.warehouse.schema, "q_metrics");
  EXPECT_EQ(c.warehouse.url_where.str(), "/etc/qonversion-etl/config.toml:14:warehouse.url");
  EXPECT_EQ(c.sha256.size(), 64u);
}

TEST(ConfigParse, Projects) {
  const Config c = parse_config(kFull, "c.toml");
  ASSERT_EQ(c.projects.size(), 3u);
  EXPECT_EQ(c.projects[0].name, "ios-app");
  EXPECT_EQ(c.projects[0].api_key.kind, SecretSource::Kind::env);
  EXPECT_EQ(c.projects[0].api_key.name, "KEY_IOS");
  EXPECT_EQ(c.projects[0].api_key.where.str(), "c.toml:19:project[0].api_key");
  EXPECT_EQ(c.projects[0].environments, (std::vector<int>{1, 0}));
  EXPECT_EQ(c.projects[0].where.str(), "c.toml:17:project[0]");
  EXPECT_EQ(c.projects[1].api_key.kind, SecretSource::Kind::file);
  EXPECT_EQ(c.projects[1].api_key.name, "/etc/qetl/web.key");
  EXPECT_EQ(c.projects[1].environments, (std::vector<int>{1}));  // the default
  EXPECT_EQ(c.projects[2].api_key.kind, SecretSource::Kind::credential);
  EXPECT_EQ(c.projects[2].api_key.name, "android-key");
  EXPECT_EQ(c.projects[2].environments, (std::vector<int>{0}));
}

TEST(ConfigParse, Windows) {
  const Config c = parse_config(kFull, "c.toml");
  ASSERT_EQ(c.windows.size(), 7u);
  EXPECT_EQ(c.windows[0].name, "all_time");
  EXPECT_EQ(c.windows[0].kind, WindowKind::fixed);
  EXPECT_EQ(c.windows[0].from, 1420070400);  // 2015-01-01T00:00:00Z
  EXPECT_EQ(c.windows[0].where.str(), "c.toml:31:window[0]");
  EXPECT_EQ(c.windows[1].from, 1582979400);  // 2020-02-29T12:30:00Z, a TOML date-time
  EXPECT_EQ(c.windows[2].from, 1614556800);  // 2021-03-01, a TOML date
  EXPECT_EQ(c.windows[3].kind, WindowKind::rolling);
  EXPECT_EQ(c.windows[3].last_seconds, 86400);
  EXPECT_EQ(c.windows[4].last_seconds, 14 * 86400);
  EXPECT_EQ(c.windows[5].kind, WindowKind::cohort);
  EXPECT_EQ(c.windows[5].each, CalendarUnit::week);
  EXPECT_EQ(c.windows[5].count, 4);
  EXPECT_EQ(c.windows[6].each, CalendarUnit::month);
  EXPECT_EQ(c.windows[6].count, 12);
}

TEST(ConfigParse, MatrixInDimensionOrderWithEntriesInConfigOrder) {
  const Config c = parse_config(kFull, "c.toml");
  ASSERT_EQ(c.matrix.size(), 4u);
  EXPECT_EQ(c.matrix[0].dimension, "status");
  EXPECT_EQ(c.matrix[1].dimension, "target_platform");
  EXPECT_EQ(c.matrix[2].dimension, "country");
  EXPECT_EQ(c.matrix[3].dimension, "search");
  EXPECT_EQ(c.matrix[2].where.str(), "c.toml:57:matrix.country");

  const auto& status = c.matrix[0].entries;
  ASSERT_EQ(status.size(), 3u);
  ASSERT_TRUE(status[0].has_value());
  EXPECT_EQ(status[0]->label, "1");  // integers are kept as the strings the API is sent
  EXPECT_EQ(status[0]->values, (std::vector<std::string>{"1"}));
  EXPECT_EQ(status[1]->label, "2");
  EXPECT_FALSE(status[2].has_value());  // "*"

  const auto& country = c.matrix[2].entries;
  ASSERT_EQ(country.size(), 3u);
  EXPECT_FALSE(country[0].has_value());
  EXPECT_EQ(country[1]->label, "US");
  EXPECT_FALSE(country[1]->is_group);
  EXPECT_EQ(country[2]->label, "EU");
  EXPECT_TRUE(country[2]->is_group);
  EXPECT_EQ(country[2]->values, (std::vector<std::string>{"DE", "FR"}));
  EXPECT_EQ(c.matrix[3].entries[1]->label, "gold; member");
}

TEST(ConfigParse, RulesKeepFieldsInDimensionOrder) {
  const Config c = parse_config(kFull, "c.toml");
  ASSERT_EQ(c.excludes.size(), 1u);
  EXPECT_EQ(c.excludes[0].fields,
            (std::vector<std::pair<std::string, std::string>>{{"target_platform", "iOS"}, {"country", "EU"}}));
  EXPECT_EQ(c.excludes[0].where.str(), "c.toml:61:matrix.exclude[0]");
  ASSERT_EQ(c.includes.size(), 2u);
  EXPECT_EQ(c.includes[0].fields, (std::vector<std::pair<std::string, std::string>>{{"status", "*"}, {"country", "EU"}}));
  EXPECT_EQ(c.includes[1].fields, (std::vector<std::pair<std::string, std::string>>{{"country", "JP"}}));
}

TEST(ConfigParse, RetryWaitCapAndGiveUp) {
  const Config c = parse_config("[api]\nmax_retry_wait_seconds = 60\ngive_up_after_seconds = 120.5\n" + test::kBase, "c.toml");
  EXPECT_DOUBLE_EQ(c.api.max_retry_wait_seconds, 60);
  EXPECT_DOUBLE_EQ(c.api.give_up_after_seconds, 120.5);
  const Config edges = parse_config("[api]\nmax_retry_wait_seconds = 1\ngive_up_after_seconds = 86400\n" + test::kBase, "c.toml");
  EXPECT_DOUBLE_EQ(edges.api.max_retry_wait_seconds, 1);
  EXPECT_DOUBLE_EQ(edges.api.give_up_after_seconds, 86400);
}

TEST(ConfigParse, DefaultsWhenSectionsAreOmitted) {
  const Config c = parse_config(test::kBase, "c.toml");
  EXPECT_EQ(c.snapshot_grain, SnapshotGrain::day);
  EXPECT_EQ(c.max_cells, 20000);
  EXPECT_FALSE(c.metrics_file.has_value());
  EXPECT_EQ(c.api.base_url, "https://api.qonversion.io/v1/analytics");
  EXPECT_EQ(c.api.concurrency, 4);
  EXPECT_DOUBLE_EQ(c.api.requests_per_minute, 30);
  EXPECT_EQ(c.api.max_attempts, 5);
  EXPECT_DOUBLE_EQ(c.api.timeout_seconds, 30);
  EXPECT_DOUBLE_EQ(c.api.max_retry_wait_seconds, 300);
  EXPECT_DOUBLE_EQ(c.api.give_up_after_seconds, 900);
  EXPECT_FALSE(c.api.ca_file.has_value());
  EXPECT_EQ(c.warehouse.url, "sqlite:///var/lib/qonversion-etl/metrics.sqlite");
  EXPECT_EQ(c.warehouse.schema, "qonversion");
  EXPECT_TRUE(c.matrix.empty());
  EXPECT_TRUE(c.excludes.empty());
  EXPECT_TRUE(c.includes.empty());
}

TEST(ConfigParse, FromAcceptsStringDateTimesAndLocalTomlDateTimes) {
  const auto from = [](const std::string& value) {
    return parse_config(test::kProject + "[[window]]\nname = \"w\"\nfrom = " + value + "\n", "c.toml").windows[0].from;
  };
  EXPECT_EQ(from("\"2024-02-29T06:00:00Z\""), 1709186400);
  EXPECT_EQ(from("\"2024-02-29 06:00\""), 1709186400);
  EXPECT_EQ(from("2024-02-29T06:00:00"), 1709186400);  // local date-time read as UTC
  EXPECT_EQ(from("2024-02-29T06:00:00+00:00"), 1709186400);
}

TEST(ConfigParse, ExcludeAndIncludeAcceptGroupNamesOfTheirDimension) {
  const Config c = parse_config("[matrix]\nproduct_id = [\"*\", { name = \"premium\", values = [\"pm\", \"pa\"] }]\n"
                                "[[matrix.include]]\nproduct_id = \"premium\"\ncountry = \"JP\"\n" + test::kBase,
                                "c.toml");
  ASSERT_EQ(c.includes.size(), 1u);
  EXPECT_EQ(c.includes[0].fields,
            (std::vector<std::pair<std::string, std::string>>{{"country", "JP"}, {"product_id", "premium"}}));
}

}  // namespace
}  // namespace qetl
