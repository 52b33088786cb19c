// The configs shipped in config/ parse (and say what they claim to).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/temp_dir.hpp"
#include "config/config.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

TEST(ConfigExamples, ExampleConfigParses) {
  const Config c = load_config(QETL_SOURCE_DIR "/config/config.example.toml");
  EXPECT_EQ(c.snapshot_grain, SnapshotGrain::day);
  EXPECT_EQ(c.max_cells, 20000);
  EXPECT_EQ(c.api.base_url, "https://api.qonversion.io/v1/analytics");
  EXPECT_DOUBLE_EQ(c.api.requests_per_minute, 30);
  EXPECT_DOUBLE_EQ(c.api.max_retry_wait_seconds, 300);
  EXPECT_DOUBLE_EQ(c.api.give_up_after_seconds, 900);
  EXPECT_EQ(c.warehouse.url, "sqlite:///var/lib/qonversion-etl/metrics.sqlite");
  EXPECT_EQ(c.checks.fail_on, ChecksFailOn::never);
  EXPECT_DOUBLE_EQ(c.checks.max_change, 0.5);
  EXPECT_EQ(c.checks.min_count, 100);
  EXPECT_DOUBLE_EQ(c.checks.tolerance, 0.01);
  EXPECT_EQ(c.checks.where.line, 81) << "the example spells out [checks]";
  ASSERT_EQ(c.projects.size(), 1u);
  EXPECT_EQ(c.projects[0].api_key.kind, SecretSource::Kind::credential);
  EXPECT_EQ(c.projects[0].api_key.name, "qonversion-api-key");
  ASSERT_EQ(c.windows.size(), 3u);
  EXPECT_EQ(c.windows[2].count, 14);
  ASSERT_EQ(c.matrix.size(), 4u);
  EXPECT_EQ(c.excludes.size(), 1u);
  EXPECT_EQ(c.includes.size(), 1u);
}

// What the package installs to /etc works as it is (the key comes from the service's credential).
TEST(ConfigExamples, InstalledConfigParses) {
  const Config c = load_config(QETL_SOURCE_DIR "/config/config.installed.toml");
  EXPECT_EQ(c.api.base_url, "https://api.qonversion.io/v1/analytics");
  EXPECT_DOUBLE_EQ(c.api.max_retry_wait_seconds, 300);
  EXPECT_DOUBLE_EQ(c.api.give_up_after_seconds, 900);
  EXPECT_EQ(c.checks.fail_on, ChecksFailOn::never);
  ASSERT_EQ(c.projects.size(), 1u);
  EXPECT_EQ(c.projects[0].api_key.kind, SecretSource::Kind::credential);
}

TEST(ConfigExamples, DemoConfigParsesOnceSubstituted) {
  std::string text = read(QETL_SOURCE_DIR "/config/demo.toml");
  ASSERT_NE(text.find("@BASE_URL@"), std::string::npos);
  ASSERT_NE(text.find("@WAREHOUSE_URL@"), std::string::npos);
  // Unsubstituted, the placeholder is not a URL.
  try {
    parse_config(text, "demo.toml");
    ADD_FAILURE() << "the unsubstituted demo config was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "demo.toml:9:api.base_url: \"@BASE_URL@\" is not an https:// URL (http:// is allowed only to a loopback "
              "host: 127.0.0.0/8, ::1 or localhost)");
  }
  replace_all(text, "@BASE_URL@", "http://127.0.0.1:18080/v1/analytics");
  replace_all(text, "@WAREHOUSE_URL@", "sqlite:demo.sqlite");
  const Config c = parse_config(text, "demo.toml");
  EXPECT_EQ(c.api.base_url, "http://127.0.0.1:18080/v1/analytics");
  EXPECT_EQ(c.warehouse.url, "sqlite:demo.sqlite");
  ASSERT_EQ(c.projects.size(), 2u);
  EXPECT_EQ(c.projects[0].api_key.name, "QONVERSION_DEMO_KEY_A");
  EXPECT_EQ(c.projects[1].api_key.name, "QONVERSION_DEMO_KEY_B");
  ASSERT_EQ(c.windows.size(), 3u);
  EXPECT_EQ(c.windows[0].name, "all_time");
  EXPECT_EQ(c.windows[1].name, "last_7_days");
  EXPECT_EQ(c.windows[2].name, "daily_cohorts");
  EXPECT_EQ(c.windows[2].count, 3);
}

}  // namespace
}  // namespace qetl
