// [checks]: fail_on and the thresholds of the data checks, with their defaults and bounds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace qetl {
namespace {
using test::config_error;
using test::kBase;

TEST(ChecksConfig, DefaultsWhenTheSectionIsAbsent) {
  const Config c = parse_config(kBase, "t.toml");
  EXPECT_EQ(c.checks.fail_on, ChecksFailOn::never);
  EXPECT_DOUBLE_EQ(c.checks.max_change, 0.5);
  EXPECT_EQ(c.checks.min_count, 100);
  EXPECT_DOUBLE_EQ(c.checks.tolerance, 0.01);
}

TEST(ChecksConfig, EveryKeyIsRead) {
  const Config c = parse_config(kBase + "[checks]\nfail_on = \"warning\"\nmax_change = 2\nmin_count = 0\ntolerance = 0\n", "t.toml");
  EXPECT_EQ(c.checks.fail_on, ChecksFailOn::warning);
  EXPECT_DOUBLE_EQ(c.checks.max_change, 2.0);
  EXPECT_EQ(c.checks.min_count, 0);
  EXPECT_DOUBLE_EQ(c.checks.tolerance, 0.0);
  EXPECT_EQ(c.checks.where.str(), "t.toml:7:checks");
  EXPECT_EQ(parse_config("[checks]\nfail_on = \"error\"\n" + kBase, "t.toml").checks.fail_on, ChecksFailOn::error);
  EXPECT_EQ(parse_config("[checks]\nfail_on = \"never\"\n" + kBase, "t.toml").checks.fail_on, ChecksFailOn::never);
}

TEST(ChecksConfig, FailOn) {
  EXPECT_EQ(config_error("[checks]\nfail_on = \"always\"\n" + kBase),
            "t.toml:2:checks.fail_on: must be \"never\", \"error\" or \"warning\", got \"always\"");
  EXPECT_EQ(config_error("[checks]\nfail_on = \"Error\"\n" + kBase),
            "t.toml:2:checks.fail_on: must be \"never\", \"error\" or \"warning\", got \"Error\"");
  EXPECT_EQ(config_error("[checks]\nfail_on = true\n" + kBase), "t.toml:2:checks.fail_on: expected a string, got a boolean");
}

TEST(ChecksConfig, Thresholds) {
  const auto checks = [](const std::string& line) { return config_error("[checks]\n" + line + "\n" + kBase); };
  EXPECT_EQ(checks("max_change = 0"), "t.toml:2:checks.max_change: must be between 0.001 and 100, got 0");
  EXPECT_EQ(checks("max_change = -0.5"), "t.toml:2:checks.max_change: must be between 0.001 and 100, got -0.5");
  EXPECT_EQ(checks("max_change = 101"), "t.toml:2:checks.max_change: must be between 0.001 and 100, got 101");
  EXPECT_EQ(checks("max_change = \"50%\""), "t.toml:2:checks.max_change: expected a number, got a string");
  EXPECT_EQ(checks("min_count = -1"), "t.toml:2:checks.min_count: must be between 0 and 1000000000, got -1");
  EXPECT_EQ(checks("min_count = 1.5"), "t.toml:2:checks.min_count: expected an integer, got a float");
  EXPECT_EQ(checks("tolerance = 1.01"), "t.toml:2:checks.tolerance: must be between 0 and 1, got 1.01");
  EXPECT_EQ(checks("tolerance = -0.01"), "t.toml:2:checks.tolerance: must be between 0 and 1, got -0.01");
  EXPECT_EQ(checks("tolerance = 1"), "<no error>");
}

TEST(ChecksConfig, UnknownKeysAndWrongType) {
  EXPECT_EQ(config_error("[checks]\nfail_on = \"error\"\nmax_drop = 0.3\n" + kBase),
            "t.toml:3:checks.max_drop: unknown key; valid keys: fail_on, max_change, min_count, tolerance");
  EXPECT_EQ(config_error("checks = \"on\"\n" + kBase), "t.toml:1:checks: expected a table, got a string");
}

}  // namespace
}  // namespace qetl
