// [bi]: metabase_url, metabase_database_id and metabase_api_key (a source, never the key),
// every error naming file:line:key, and the Metabase key read through resolve_secret.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "common/temp_dir.hpp"
#include "config_test_support.hpp"

namespace qetl {
namespace {
using test::config_error;
using test::kBase;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Shaped like a Metabase API key: base64 text ending in '='.
const std::string kMetabaseKey = "mb_Z2l2ZW4taW5saW5lLWluLWEtdGVzdA+/x=";

std::string bi(const std::string& url_line, const std::string& id_line, const std::string& key_line) {
  return "[bi]\n" + url_line + id_line + key_line;
}
const std::string kUrl = "metabase_url = \"https://metabase.internal\"\n";
const std::string kId = "metabase_database_id = 2\n";
const std::string kKeySource = "metabase_api_key = { env = \"MB_API_KEY\" }\n";

// Every [bi] error is "t.toml:<line>:bi..." followed by what is wrong.
void expect_located(const std::string& message) {
  static const std::regex located(R"(^t\.toml:[0-9]+:bi(\.[a-z_.]+)?: .+)");
  EXPECT_TRUE(std::regex_match(message, located)) << message;
}

TEST(BiConfig, AbsentSectionMeansNoNotification) {
  const Config c = parse_config(kBase, "t.toml");
  EXPECT_FALSE(c.bi.has_value());
}

TEST(BiConfig, ParsesTheThreeKeys) {
  const Config c = parse_config(bi("metabase_url = \"https://metabase.internal/\"\n", kId, kKeySource) + kBase, "t.toml");
  ASSERT_TRUE(c.bi.has_value());
  EXPECT_EQ(c.bi->metabase_url, "https://metabase.internal") << "trailing '/' dropped: the path is appended";
  EXPECT_EQ(c.bi->metabase_database_id, 2);
  EXPECT_EQ(c.bi->metabase_api_key.kind, SecretSource::Kind::env);
  EXPECT_EQ(c.bi->metabase_api_key.name, "MB_API_KEY");
  EXPECT_EQ(c.bi->metabase_api_key.what, "Metabase API key");
  EXPECT_FALSE(c.bi->metabase_api_key.strict_charset) << "Metabase keys hold '+', '/' and '='";
  EXPECT_EQ(c.bi->metabase_api_key.where.str(), "t.toml:4:bi.metabase_api_key");
  EXPECT_EQ(c.bi->where.str(), "t.toml:1:bi");
}

TEST(BiConfig, KeepsAPathPrefixAndTakesEverySource) {
  const Config prefixed =
      parse_config(bi("metabase_url = \"http://10.0.0.5:3000/metabase//\"\n", kId,
                      "metabase_api_key = { file = \"/etc/qonversion-etl/metabase-api-key\" }\n") + kBase,
                   "t.toml");
  EXPECT_EQ(prefixed.bi->metabase_url, "http://10.0.0.5:3000/metabase");
  EXPECT_EQ(prefixed.bi->metabase_api_key.kind, SecretSource::Kind::file);
  EXPECT_EQ(prefixed.bi->metabase_api_key.name, "/etc/qonversion-etl/metabase-api-key");

  const Config credential =
      parse_config(bi(kUrl, kId, "metabase_api_key = { credential = \"metabase-api-key\" }\n") + kBase, "t.toml");
  EXPECT_EQ(credential.bi->metabase_api_key.kind, SecretSource::Kind::credential);
  EXPECT_EQ(credential.bi->metabase_api_key.name, "metabase-api-key");
}

TEST(BiConfig, EachMissingKeyIsNamed) {
  const std::string no_url = config_error(bi("", kId, kKeySource) + kBase);
  EXPECT_EQ(no_url, "t.toml:1:bi: metabase_url is required in [bi] (e.g. \"https://metabase.internal\")");
  const std::string no_id = config_error(bi(kUrl, "", kKeySource) + kBase);
  EXPECT_EQ(no_id, "t.toml:1:bi: metabase_database_id is required in [bi] (Admin > Databases shows it in the URL)");
  const std::string no_key = config_error(bi(kUrl, kId, "") + kBase);
  EXPECT_THAT(no_key, StartsWith("t.toml:1:bi: metabase_api_key is required in [bi]"));
  EXPECT_EQ(config_error("[bi]\n" + kBase), no_url) << "an empty [bi] is not \"no [bi]\"";
  for (const auto& m : {no_url, no_id, no_key}) expect_located(m);
}

TEST(BiConfig, BadUrl) {
  const auto url = [](const std::string& v) {
    return config_error(bi("metabase_url = \"" + v + "\"\n", kId, kKeySource) + kBase);
  };
  EXPECT_EQ(url("ftp://metabase.internal"),
            "t.toml:2:bi.metabase_url: \"ftp://metabase.internal\" is not an http:// or https:// URL");
  EXPECT_EQ(url("metabase.internal"), "t.toml:2:bi.metabase_url: \"metabase.internal\" is not an http:// or https:// URL");
  EXPECT_EQ(url("https://mb/?db=2"),
            "t.toml:2:bi.metabase_url: \"https://mb/?db=2\" has a query or fragment: the job appends its own path "
            "and query");
  EXPECT_THAT(url("https://"), StartsWith("t.toml:2:bi.metabase_url: \"https://\" is not a URL libcurl can use: "));
  EXPECT_THAT(url("https://metabase.internal:65536"),
              StartsWith("t.toml:2:bi.metabase_url: \"https://metabase.internal:65536\" is not a URL libcurl can use: "));
  EXPECT_THAT(url("http://[fd00::1/metabase"),
              StartsWith("t.toml:2:bi.metabase_url: \"http://[fd00::1/metabase\" is not a URL libcurl can use: "));
  EXPECT_EQ(config_error(bi("metabase_url = 3000\n", kId, kKeySource) + kBase),
            "t.toml:2:bi.metabase_url: expected a string, got an integer");
}

TEST(BiConfig, DatabaseIdMustBePositiveInteger) {
  for (const std::string id : {"0", "-3"}) {
    EXPECT_EQ(config_error(bi(kUrl, "metabase_database_id = " + id + "\n", kKeySource) + kBase),
              "t.toml:3:bi.metabase_database_id: must be between 1 and 9223372036854775807, got " + id);
  }
  EXPECT_EQ(config_error(bi(kUrl, "metabase_database_id = \"2\"\n", kKeySource) + kBase),
            "t.toml:3:bi.metabase_database_id: expected an integer, got a string");
  EXPECT_EQ(config_error(bi(kUrl, "metabase_database_id = 2.0\n", kKeySource) + kBase),
            "t.toml:3:bi.metabase_database_id: expected an integer, got a float");
}

TEST(BiConfig, UnknownKey) {
  EXPECT_EQ(config_error(bi(kUrl, kId, kKeySource) + "metabase_api_token = 1\n" + kBase),
            "t.toml:5:bi.metabase_api_token: unknown key; valid keys: metabase_url, metabase_database_id, "
            "metabase_api_key");
  EXPECT_EQ(config_error("bi = 3\n" + kBase), "t.toml:1:bi: expected a table, got an integer");
}

TEST(BiConfig, KeyGivenInlineIsRefusedWithoutEchoingIt) {
  const std::string message = config_error(bi(kUrl, kId, "metabase_api_key = \"" + kMetabaseKey + "\"\n") + kBase);
  EXPECT_THAT(message, StartsWith("t.toml:4:bi.metabase_api_key: must say where the key is read from, not hold it"));
  EXPECT_THAT(message, Not(HasSubstr(kMetabaseKey)));
  EXPECT_THAT(message, Not(HasSubstr("Z2l2ZW4")));
  expect_located(message);
}

TEST(BiConfig, KeySourceErrors) {
  const std::string two = config_error(bi(kUrl, kId, "metabase_api_key = { env = \"A\", file = \"/k\" }\n") + kBase);
  EXPECT_THAT(two, StartsWith("t.toml:4:bi.metabase_api_key.file: give only one of env, file or credential"));
  const std::string bad_env = config_error(bi(kUrl, kId, "metabase_api_key = { env = \"MB-KEY\" }\n") + kBase);
  EXPECT_EQ(bad_env, "t.toml:4:bi.metabase_api_key.env: \"MB-KEY\" is not an environment variable name");
  const std::string bad_credential =
      config_error(bi(kUrl, kId, "metabase_api_key = { credential = \"a/b\" }\n") + kBase);
  EXPECT_EQ(bad_credential,
            "t.toml:4:bi.metabase_api_key.credential: \"a/b\" is not a credential name (a file name without '/')");
  const std::string unknown = config_error(bi(kUrl, kId, "metabase_api_key = { vault = \"x\" }\n") + kBase);
  EXPECT_THAT(unknown, StartsWith("t.toml:4:bi.metabase_api_key.vault: unknown key"));
  const std::string empty = config_error(bi(kUrl, kId, "metabase_api_key = {}\n") + kBase);
  EXPECT_EQ(empty, "t.toml:4:bi.metabase_api_key: needs one of env, file or credential");
  for (const auto& m : {two, bad_env, bad_credential, unknown, empty}) expect_located(m);
}

// Metabase keys are base64 text ending in '=': accepted from the [bi] source although the
// project key's stricter check would refuse them.
TEST(BiConfig, MetabaseKeyWithEqualsSignResolvesFromAFile) {
  test::TempDir dir;
  const std::string path = dir.file("metabase-api-key");
  std::ofstream(path, std::ios::binary) << kMetabaseKey << "\n";
  const std::string text = bi(kUrl, kId, "metabase_api_key = { file = \"" + path + "\" }\n") +
                           "[[project]]\nname = \"app\"\napi_key = { file = \"" + path + "\" }\n" + test::kWindow;
  const Config c = parse_config(text, "t.toml");
  ASSERT_TRUE(c.bi.has_value());
  EXPECT_EQ(resolve_secret(c.bi->metabase_api_key), kMetabaseKey);

  try {
    resolve_secret(c.projects.at(0).api_key);
    FAIL() << "a Qonversion key holds only A-Z, a-z, 0-9, '_' and '-'";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr(kMetabaseKey)));
  }
}

TEST(BiConfig, MetabaseKeyMessagesNameItAndNeverShowIt) {
  test::TempDir dir;
  const std::string path = dir.file("metabase-api-key");
  std::ofstream(path, std::ios::binary) << "mb_abc def=\n";
  const Config c = parse_config(bi(kUrl, kId, "metabase_api_key = { file = \"" + path + "\" }\n") + kBase, "t.toml");
  try {
    resolve_secret(c.bi->metabase_api_key);
    FAIL() << "a key with a space inside is the wrong file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "t.toml:4:bi.metabase_api_key: the Metabase API key from file " + path +
                                         " contains spaces or characters outside printable ASCII: is it the right source?");
    EXPECT_THAT(e.what(), Not(HasSubstr("mb_abc")));
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << " \n";
  try {
    resolve_secret(c.bi->metabase_api_key);
    FAIL() << "an empty key file is an error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "t.toml:4:bi.metabase_api_key: the Metabase API key from file " + path + " is empty");
  }
}

}  // namespace
}  // namespace qetl
