// config_sha256: a hash of the parsed config with secrets left out, so it says whether two runs
// used the same settings, whatever the file's comments, layout, key order or passwords.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/temp_dir.hpp"
#include "config/config_fingerprint.hpp"
#include "config_test_support.hpp"

namespace qetl {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kConfig = R"(# nightly export
snapshot_grain = "day"
max_cells = 5000

[api]
base_url = "https://api.qonversion.io/v1/analytics"
requests_per_minute = 30
max_attempts = 5

[warehouse]
url = "postgresql://etl:Hunter2Secret@db.internal:5432/analytics"
schema = "qonversion"

[[project]]
name = "app"
api_key = { env = "QONVERSION_API_KEY" }
environments = [1, 0]

[[window]]
name = "all_time"
from = "2015-01-01"

[[window]]
name = "cohorts"
each = "day"
count = 14

[matrix]
country = ["*", "US", { name = "EU", values = ["DE", "FR"] }]
target_platform = ["*", "iOS"]

[[matrix.exclude]]
country = "US"
target_platform = "iOS"

[checks]
fail_on = "error"
)";

// The same settings written differently: comments, spacing, key order, a TOML date instead of a
// string, inline tables and another password.
const std::string kSameSettings = R"(
max_cells = 5000
snapshot_grain   =   "day"    # trailing comment
checks = { fail_on = "error" }
api.max_attempts = 5
api.base_url = "https://api.qonversion.io/v1/analytics"
api.requests_per_minute = 30.0

[warehouse]
schema = "qonversion"
url = "postgresql://etl:AnotherPassw0rd@db.internal:5432/analytics"

[[project]]
environments = [1, 0]
api_key = { env = "QONVERSION_API_KEY" }
name = "app"

[[window]]
from = 2015-01-01
name = "all_time"

[[window]]
count = 14
each = "day"
name = "cohorts"

[matrix]
target_platform = ["*", "iOS"]
country = ["*", "US", { values = ["DE", "FR"], name = "EU" }]
exclude = [{ target_platform = "iOS", country = "US" }]
)";

std::string hash_of(const std::string& text) { return parse_config(text, "c.toml").sha256; }

void replace(std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

TEST(ConfigFingerprint, IsSha256OfTheCanonicalText) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const Config c = parse_config(kConfig, "c.toml");
  EXPECT_EQ(c.sha256, sha256_hex(canonical_config_text(c)));
  EXPECT_EQ(c.sha256.size(), 64u);
}

TEST(ConfigFingerprint, SameSettingsWrittenDifferentlyHashTheSame) {
  EXPECT_EQ(hash_of(kSameSettings), hash_of(kConfig));
  EXPECT_EQ(parse_config(kConfig, "/etc/qonversion-etl/a.toml").sha256, parse_config(kConfig, "b.toml").sha256);
}

TEST(ConfigFingerprint, LoadConfigHashesTheParsedFile) {
  test::TempDir dir;
  std::ofstream(dir.file("c.toml"), std::ios::binary) << kConfig;
  EXPECT_EQ(load_config(dir.file("c.toml")).sha256, hash_of(kSameSettings));
}

TEST(ConfigFingerprint, NoPasswordInTheCanonicalText) {
  const std::string text = canonical_config_text(parse_config(kConfig, "c.toml"));
  EXPECT_THAT(text, Not(HasSubstr("Hunter2Secret")));
  EXPECT_THAT(text, HasSubstr("db.internal"));
  std::string conninfo = kConfig;
  replace(conninfo, "\"postgresql://etl:Hunter2Secret@db.internal:5432/analytics\"",
          "\"host=db.internal user=etl password=Hunter2Secret dbname=analytics\"");
  EXPECT_THAT(canonical_config_text(parse_config(conninfo, "c.toml")), Not(HasSubstr("Hunter2Secret")));
}

TEST(ConfigFingerprint, AnyChangedValueChangesTheHash) {
  const std::string base = hash_of(kConfig);
  const std::pair<std::string, std::string> changes[] = {
      {"snapshot_grain = \"day\"", "snapshot_grain = \"hour\""},
      {"max_cells = 5000", "max_cells = 5001"},
      {"requests_per_minute = 30", "requests_per_minute = 29.5"},
      {"max_attempts = 5", "max_attempts = 4"},
      {"https://api.qonversion.io/v1/analytics", "https://api.qonversion.io/v2/analytics"},
      {"db.internal:5432", "db.internal:5433"},
      {"schema = \"qonversion\"", "schema = \"qonversion2\""},
      {"name = \"app\"", "name = \"app2\""},
      {"QONVERSION_API_KEY", "QONVERSION_API_KEY2"},
      {"environments = [1, 0]", "environments = [0, 1]"},
      {"from = \"2015-01-01\"", "from = \"2015-01-02\""},
      {"count = 14", "count = 13"},
      {"each = \"day\"", "each = \"week\""},
      {"\"DE\", \"FR\"", "\"DE\", \"IT\""},
      {"name = \"EU\"", "name = \"Europe\""},
      {"[\"*\", \"iOS\"]", "[\"*\", \"Android\"]"},
      {"country = \"US\"\ntarget_platform = \"iOS\"", "country = \"US\"\ntarget_platform = \"*\""},
      {"fail_on = \"error\"", "fail_on = \"warning\""},
      {"[checks]", "[[matrix.include]]\ncountry = \"JP\"\n\n[checks]"},
  };
  for (const auto& [from, to] : changes) {
    std::string text = kConfig;
    replace(text, from, to);
    EXPECT_NE(hash_of(text), base) << from << " -> " << to;
  }
}

TEST(ConfigFingerprint, TextValuesCannotRunTogether) {
  // Two projects named "a" + "b,c" and "a,b" + "c" are different configs.
  const std::string window = "[[window]]\nname = \"w\"\nlast = \"7d\"\n";
  const auto two = [&](const std::string& first, const std::string& second) {
    return hash_of("[[project]]\nname = \"" + first + "\"\napi_key = { env = \"K\" }\n[[project]]\nname = \"" + second +
                   "\"\napi_key = { env = \"K\" }\n" + window);
  };
  EXPECT_NE(two("a", "b,c"), two("a,b", "c"));
  EXPECT_NE(two("a", "b\\\"c"), two("a\\\"b", "c"));
}

}  // namespace
}  // namespace qetl
