// Every kind of config error names file:line:key and says what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace qetl {
namespace {
using test::config_error;
using test::kBase;
using test::kProject;
using test::kWindow;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ConfigErrors, TomlSyntaxErrorNamesLineAndColumn) {
  const std::string message = config_error("a = [1,\nb = 2\n");
  EXPECT_THAT(message, StartsWith("t.toml:2:1: "));
  EXPECT_GT(message.size(), std::string("t.toml:2:1: ").size());
  EXPECT_THAT(config_error("x = 1\nx = 2\n"), StartsWith("t.toml:2:"));
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  try {
    load_config("/nonexistent-dir/qetl.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent-dir/qetl.toml: cannot read config file: No such file or directory");
    EXPECT_EQ(e.code(), ExitCode::config);
  }
}

TEST(ConfigErrors, DirectoryInsteadOfFile) {
  try {
    load_config("/");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/: cannot read config file: it is a directory");
  }
}

TEST(ConfigErrors, UnknownTopLevelKey) {
  EXPECT_EQ(config_error("snapshot_grain = \"day\"\ncolour = 1\n" + kBase),
            "t.toml:2:colour: unknown key; valid keys: snapshot_grain, max_cells, metrics_file, api, warehouse, "
            "project, window, matrix, bi, checks");
}

TEST(ConfigErrors, UnknownKeysAreReportedInFileOrder) {
  EXPECT_EQ(config_error("zebra = 1\napple = 2\n" + kBase), config_error("zebra = 1\n" + kBase));
  EXPECT_THAT(config_error("zebra = 1\napple = 2\n" + kBase), StartsWith("t.toml:1:zebra: unknown key"));
}

TEST(ConfigErrors, SnapshotGrain) {
  EXPECT_EQ(config_error("snapshot_grain = 1\n" + kBase), "t.toml:1:snapshot_grain: expected a string, got an integer");
  EXPECT_EQ(config_error("snapshot_grain = \"week\"\n" + kBase),
            "t.toml:1:snapshot_grain: must be \"day\" or \"hour\", got \"week\"");
}

TEST(ConfigErrors, MaxCells) {
  EXPECT_EQ(config_error("max_cells = 0\n" + kBase), "t.toml:1:max_cells: must be between 1 and 1000000, got 0");
  EXPECT_EQ(config_error("max_cells = 1000001\n" + kBase), "t.toml:1:max_cells: must be between 1 and 1000000, got 1000001");
  EXPECT_EQ(config_error("max_cells = 1.5\n" + kBase), "t.toml:1:max_cells: expected an integer, got a float");
}

TEST(ConfigErrors, MetricsFile) {
  EXPECT_EQ(config_error("metrics_file = 5\n" + kBase), "t.toml:1:metrics_file: expected a string, got an integer");
  EXPECT_EQ(config_error("metrics_file = \"\"\n" + kBase), "t.toml:1:metrics_file: must not be empty");
}

TEST(ConfigErrors, ApiSection) {
  EXPECT_EQ(config_error("api = 3\n" + kBase), "t.toml:1:api: expected a table, got an integer");
  EXPECT_EQ(config_error("[api]\nconcurrency = 4\nretries = 3\n" + kBase),
            "t.toml:3:api.retries: unknown key; valid keys: base_url, concurrency, requests_per_minute, "
            "timeout_seconds, max_attempts, max_retry_wait_seconds, give_up_after_seconds, ca_file");
  EXPECT_EQ(config_error("[api]\nconcurrency = 0\n" + kBase), "t.toml:2:api.concurrency: must be between 1 and 256, got 0");
  EXPECT_EQ(config_error("[api]\nconcurrency = 257\n" + kBase),
            "t.toml:2:api.concurrency: must be between 1 and 256, got 257");
  EXPECT_EQ(config_error("[api]\nconcurrency = \"4\"\n" + kBase), "t.toml:2:api.concurrency: expected an integer, got a string");
  EXPECT_EQ(config_error("[api]\nmax_attempts = 101\n" + kBase), "t.toml:2:api.max_attempts: must be between 1 and 100, got 101");
  EXPECT_EQ(config_error("[api]\nmax_attempts = 0\n" + kBase), "t.toml:2:api.max_attempts: must be between 1 and 100, got 0");
  EXPECT_EQ(config_error("[api]\nca_file = true\n" + kBase), "t.toml:2:api.ca_file: expected a string, got a boolean");
  EXPECT_EQ(config_error("[api]\nca_file = \"\"\n" + kBase), "t.toml:2:api.ca_file: must not be empty");
}

TEST(ConfigErrors, ApiRequestsPerMinute) {
  const auto rpm = [](const std::string& v) { return config_error("[api]\nrequests_per_minute = " + v + "\n" + kBase); };
  EXPECT_EQ(rpm("0"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got 0");
  EXPECT_EQ(rpm("0.09"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got 0.09");
  EXPECT_EQ(rpm("-1.5"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got -1.5");
  EXPECT_EQ(rpm("6000001"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got 6000001");
  EXPECT_EQ(rpm("inf"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got inf");
  EXPECT_EQ(rpm("nan"), "t.toml:2:api.requests_per_minute: must be between 0.1 and 6000000, got nan");
  EXPECT_EQ(rpm("\"fast\""), "t.toml:2:api.requests_per_minute: expected a number, got a string");
  EXPECT_EQ(config_error("[api]\nrequests_per_minute = 0.1\n" + kBase), "<no error>");
  EXPECT_EQ(config_error("[api]\nrequests_per_minute = 6000000\n" + kBase), "<no error>");
}

TEST(ConfigErrors, ApiTimesInSeconds) {
  const auto api = [](const std::string& line) { return config_error("[api]\n" + line + "\n" + kBase); };
  EXPECT_EQ(api("timeout_seconds = 0"), "t.toml:2:api.timeout_seconds: must be between 1 and 3600, got 0");
  EXPECT_EQ(api("timeout_seconds = 0.5"), "t.toml:2:api.timeout_seconds: must be between 1 and 3600, got 0.5");
  EXPECT_EQ(api("timeout_seconds = 3601"), "t.toml:2:api.timeout_seconds: must be between 1 and 3600, got 3601");
  EXPECT_EQ(api("max_retry_wait_seconds = 0"), "t.toml:2:api.max_retry_wait_seconds: must be between 1 and 86400, got 0");
  EXPECT_EQ(api("max_retry_wait_seconds = 86401"),
            "t.toml:2:api.max_retry_wait_seconds: must be between 1 and 86400, got 86401");
  EXPECT_EQ(api("max_retry_wait_seconds = \"5m\""), "t.toml:2:api.max_retry_wait_seconds: expected a number, got a string");
  EXPECT_EQ(api("give_up_after_seconds = 0.5"), "t.toml:2:api.give_up_after_seconds: must be between 1 and 86400, got 0.5");
  EXPECT_EQ(api("give_up_after_seconds = 1e9"),
            "t.toml:2:api.give_up_after_seconds: must be between 1 and 86400, got 1000000000");
}

TEST(ConfigErrors, ApiBaseUrlShape) {
  const auto url = [](const std::string& v) { return config_error("[api]\nbase_url = \"" + v + "\"\n" + kBase); };
  EXPECT_EQ(url("ftp://example.com"),
            "t.toml:2:api.base_url: \"ftp://example.com\" is not an https:// URL (http:// is allowed only to a "
            "loopback host: 127.0.0.0/8, ::1 or localhost)");
  EXPECT_EQ(url("api.qonversion.io/v1/analytics"),
            "t.toml:2:api.base_url: \"api.qonversion.io/v1/analytics\" is not an https:// URL (http:// is allowed "
            "only to a loopback host: 127.0.0.0/8, ::1 or localhost)");
  EXPECT_THAT(url("https://"), StartsWith("t.toml:2:api.base_url: \"https://\" is not a URL libcurl can use: "));
  EXPECT_THAT(url("https://x/a b"), StartsWith("t.toml:2:api.base_url: \"https://x/a b\" is not a URL libcurl can use: "));
  EXPECT_THAT(url("https://exa mple.com/v1"),
              StartsWith("t.toml:2:api.base_url: \"https://exa mple.com/v1\" is not a URL libcurl can use: "));
  EXPECT_EQ(url("https://api.example.com/v1?x=1"),
            "t.toml:2:api.base_url: \"https://api.example.com/v1?x=1\" has a query or fragment: the job appends its "
            "own path and query");
  EXPECT_EQ(url("https://api.example.com/v1#top"),
            "t.toml:2:api.base_url: \"https://api.example.com/v1#top\" has a query or fragment: the job appends its "
            "own path and query");
  EXPECT_EQ(url("https://api.example.com:0/v1"), "t.toml:2:api.base_url: \"https://api.example.com:0/v1\" has port 0");
}

TEST(ConfigErrors, ApiBaseUrlWithCredentialsIsNotEchoed) {
  const std::string message = config_error("[api]\nbase_url = \"https://me:Hunter2Secret@api.example.com/v1\"\n" + kBase);
  EXPECT_EQ(message, "t.toml:2:api.base_url: must not hold a user name or password (URLs are printed in logs)");
  EXPECT_THAT(config_error("[api]\nbase_url = \"https://me:Hunter2Secret@[::1/v1\"\n" + kBase),
              Not(HasSubstr("Hunter2Secret")));
}

TEST(ConfigErrors, ApiBaseUrlHttpOnlyToLoopback) {
  const auto url = [](const std::string& v) { return config_error("[api]\nbase_url = \"" + v + "\"\n" + kBase); };
  for (const char* loopback : {"http://127.0.0.1:8080/v1/analytics", "http://127.1.2.3/v1", "http://[::1]:18080/v1",
                               "http://localhost:8080/v1", "http://LocalHost/v1", "http://localhost./v1",
                               "HTTP://127.0.0.1/v1", "https://api.qonversion.io/v1/analytics", "https://10.0.0.5:8443/q"}) {
    EXPECT_EQ(url(loopback), "<no error>") << loopback;
  }
  for (const char* remote : {"http://api.qonversion.io/v1/analytics", "http://10.0.0.5/v1", "http://127.0.0.1.nip.io/v1",
                             "http://localhost.example.com/v1", "http://[::2]/v1", "http://[::ffff:10.0.0.1]/v1",
                             "http://128.0.0.1/v1"}) {
    EXPECT_THAT(url(remote), HasSubstr("would send the API key in clear text")) << remote;
  }
}

TEST(ConfigErrors, WarehouseSection) {
  EXPECT_EQ(config_error("[warehouse]\nurl = \"\"\n" + kBase), "t.toml:2:warehouse.url: must not be empty");
  EXPECT_EQ(config_error("[warehouse]\nurl = 1\n" + kBase), "t.toml:2:warehouse.url: expected a string, got an integer");
  EXPECT_EQ(config_error("[warehouse]\nschema = \"bad-name\"\n" + kBase),
            "t.toml:2:warehouse.schema: \"bad-name\" does not match ^[A-Za-z_][A-Za-z0-9_]*$");
  EXPECT_EQ(config_error("[warehouse]\nschema = \"9lives\"\n" + kBase),
            "t.toml:2:warehouse.schema: \"9lives\" does not match ^[A-Za-z_][A-Za-z0-9_]*$");
  EXPECT_EQ(config_error("[warehouse]\npassword = \"x\"\n" + kBase),
            "t.toml:2:warehouse.password: unknown key; valid keys: url, schema");
}

TEST(ConfigErrors, WarehouseSchemaReservedOrTooLong) {
  const auto schema = [](const std::string& v) { return config_error("[warehouse]\nschema = \"" + v + "\"\n" + kBase); };
  for (const char* reserved : {"pg_temp", "pg_toast", "pg_catalog", "pg_anything", "PG_TEMP", "Pg_Temp_3", "information_schema",
                               "INFORMATION_SCHEMA"}) {
    EXPECT_EQ(schema(reserved), "t.toml:2:warehouse.schema: \"" + std::string(reserved) +
                                    "\" is a PostgreSQL system schema (pg_* and information_schema are reserved): "
                                    "choose another name");
  }
  EXPECT_EQ(schema(std::string(64, 's')),
            "t.toml:2:warehouse.schema: is 64 bytes long, PostgreSQL names hold at most 63 (a longer one is cut short)");
  EXPECT_EQ(schema(std::string(63, 's')), "<no error>");
  EXPECT_EQ(schema("pgtemp"), "<no error>");
  EXPECT_EQ(schema("public"), "<no error>");
}

TEST(ConfigErrors, WarehouseUrlLocationIsKept) {
  EXPECT_EQ(parse_config("snapshot_grain = \"day\"\n[warehouse]\nschema = \"q\"\nurl = \"sqlite:x.sqlite\"\n" + kBase, "t.toml")
                .warehouse.url_where.str(),
            "t.toml:4:warehouse.url");
  EXPECT_EQ(parse_config("snapshot_grain = \"day\"\n[warehouse]\nschema = \"q\"\n" + kBase, "t.toml").warehouse.url_where.str(),
            "t.toml:2:warehouse.url");
  EXPECT_EQ(parse_config(kBase, "t.toml").warehouse.url_where.str(), "t.toml:1:warehouse.url");
}

TEST(ConfigErrors, ProjectsAreRequired) {
  EXPECT_EQ(config_error(kWindow), "t.toml:1:project: at least one [[project]] is required");
  EXPECT_EQ(config_error("project = []\n" + kWindow), "t.toml:1:project: at least one [[project]] is required");
  EXPECT_EQ(config_error("[project]\nname = \"a\"\n" + kWindow), "t.toml:1:project: expected [[project]] tables, got a table");
  EXPECT_EQ(config_error("project = [1]\n" + kWindow), "t.toml:1:project[0]: expected a table, got an integer");
}

TEST(ConfigErrors, ProjectName) {
  EXPECT_EQ(config_error("[[project]]\napi_key = { env = \"K\" }\n" + kWindow), "t.toml:1:project[0].name: missing required key");
  EXPECT_EQ(config_error("[[project]]\nname = \"\"\napi_key = { env = \"K\" }\n" + kWindow),
            "t.toml:2:project[0].name: must not be empty");
  EXPECT_EQ(config_error(kProject + "[[project]]\nname = \"app\"\napi_key = { env = \"K\" }\n" + kWindow),
            "t.toml:5:project[1].name: duplicate project name \"app\" (also at line 1)");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { env = \"K\" }\nkey = 1\n" + kWindow),
            "t.toml:4:project[0].key: unknown key; valid keys: name, api_key, environments");
}

TEST(ConfigErrors, PlainApiKeyIsRefusedWithoutEchoingIt) {
  const std::string message = config_error("[[project]]\nname = \"a\"\napi_key = \"JFPATc4VaaWYsfurml3qZ4zsmNw0VfWH\"\n" + kWindow);
  EXPECT_EQ(message,
            "t.toml:3:project[0].api_key: must say where the key is read from, not hold it: use api_key = { env = "
            "\"VARIABLE\" }, { file = \"/path/to/key\" } or { credential = \"name\" } so the key never lives in the "
            "config text");
  EXPECT_THAT(message, ::testing::Not(HasSubstr("JFPATc4")));
}

TEST(ConfigErrors, ApiKeySource) {
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\n" + kWindow), "t.toml:1:project[0].api_key: missing required key");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = {}\n" + kWindow),
            "t.toml:3:project[0].api_key: needs one of env, file or credential");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { env = \"A\", file = \"/k\" }\n" + kWindow),
            "t.toml:3:project[0].api_key.file: give only one of env, file or credential (env is also set)");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { value = \"abc\" }\n" + kWindow),
            "t.toml:3:project[0].api_key.value: unknown key; valid keys: env, file, credential");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { env = \"1BAD\" }\n" + kWindow),
            "t.toml:3:project[0].api_key.env: \"1BAD\" is not an environment variable name");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { env = \"\" }\n" + kWindow),
            "t.toml:3:project[0].api_key.env: must not be empty");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { credential = \"a/b\" }\n" + kWindow),
            "t.toml:3:project[0].api_key.credential: \"a/b\" is not a credential name (a file name without '/')");
  EXPECT_EQ(config_error("[[project]]\nname = \"a\"\napi_key = { file = 3 }\n" + kWindow),
            "t.toml:3:project[0].api_key.file: expected a string, got an integer");
}

TEST(ConfigErrors, Environments) {
  const std::string head = "[[project]]\nname = \"a\"\napi_key = { env = \"K\" }\n";
  EXPECT_EQ(config_error(head + "environments = []\n" + kWindow),
            "t.toml:4:project[0].environments: must not be empty (0 = sandbox, 1 = production)");
  EXPECT_EQ(config_error(head + "environments = 1\n" + kWindow),
            "t.toml:4:project[0].environments: expected an array, got an integer");
  EXPECT_EQ(config_error(head + "environments = [\n  1,\n  2,\n]\n" + kWindow),
            "t.toml:6:project[0].environments[1]: must be 0 (sandbox) or 1 (production), got 2");
  EXPECT_EQ(config_error(head + "environments = [1, 1]\n" + kWindow),
            "t.toml:4:project[0].environments[1]: duplicate environment 1");
  EXPECT_EQ(config_error(head + "environments = [\"1\"]\n" + kWindow),
            "t.toml:4:project[0].environments[0]: expected an integer, got a string");
}

TEST(ConfigErrors, WindowsAreRequired) {
  EXPECT_EQ(config_error(kProject), "t.toml:1:window: at least one [[window]] is required");
  EXPECT_EQ(config_error("window = []\n" + kProject), "t.toml:1:window: at least one [[window]] is required");
  EXPECT_EQ(config_error("[window]\nname = \"w\"\n" + kProject), "t.toml:1:window: expected [[window]] tables, got a table");
}

TEST(ConfigErrors, WindowNameAndKind) {
  EXPECT_EQ(config_error("[[window]]\nlast = \"7d\"\n" + kProject), "t.toml:1:window[0].name: missing required key");
  EXPECT_EQ(config_error(kWindow + "[[window]]\nname = \"w\"\nlast = \"1d\"\n" + kProject),
            "t.toml:5:window[1].name: duplicate window name \"w\" (also at line 1)");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\n" + kProject),
            "t.toml:1:window[0]: needs one of from (fixed), last (rolling) or each + count (cohorts)");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\nlast = \"7d\"\nfrom = \"2020-01-01\"\n" + kProject),
            "t.toml:4:window[0].from: give only one of from, last or each (last is also set)");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\neach = \"day\"\ncount = 3\nlast = \"7d\"\n" + kProject),
            "t.toml:5:window[0].last: give only one of from, last or each (each is also set)");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\nlast = \"7d\"\nsize = 3\n" + kProject),
            "t.toml:4:window[0].size: unknown key; valid keys: name, from, last, each, count");
}

TEST(ConfigErrors, WindowCountAndEach) {
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\nlast = \"7d\"\ncount = 3\n" + kProject),
            "t.toml:4:window[0].count: count is only valid with each = \"day\", \"week\" or \"month\"");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\ncount = 3\n" + kProject),
            "t.toml:3:window[0].count: count is only valid with each = \"day\", \"week\" or \"month\"");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\neach = \"day\"\n" + kProject),
            "t.toml:1:window[0].count: missing required key (each needs count)");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\neach = \"day\"\ncount = 0\n" + kProject),
            "t.toml:4:window[0].count: must be between 1 and 1000, got 0");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\neach = \"day\"\ncount = 1001\n" + kProject),
            "t.toml:4:window[0].count: must be between 1 and 1000, got 1001");
  EXPECT_EQ(config_error("[[window]]\nname = \"w\"\neach = \"year\"\ncount = 2\n" + kProject),
            "t.toml:3:window[0].each: must be \"day\", \"week\" or \"month\", got \"year\"");
}

TEST(ConfigErrors, WindowLast) {
  const auto last = [](const std::string& value) {
    return config_error("[[window]]\nname = \"w\"\nlast = " + value + "\n" + kProject);
  };
  EXPECT_EQ(last("\"7\""), "t.toml:3:window[0].last: \"7\" is not a duration such as \"24h\", \"7d\" or \"2w\"");
  EXPECT_EQ(last("\"7x\""), "t.toml:3:window[0].last: \"7x\" is not a duration such as \"24h\", \"7d\" or \"2w\"");
  EXPECT_EQ(last("\"-7d\""), "t.toml:3:window[0].last: \"-7d\" is not a duration such as \"24h\", \"7d\" or \"2w\"");
  EXPECT_EQ(last("\"0d\""), "t.toml:3:window[0].last: must be positive, got \"0d\"");
  EXPECT_EQ(last("7"), "t.toml:3:window[0].last: expected a string, got an integer");
  EXPECT_EQ(last("\"5218w\""), "t.toml:3:window[0].last: \"5218w\" is longer than 100 years (36525d)");
  EXPECT_EQ(last("\"876601h\""), "t.toml:3:window[0].last: \"876601h\" is longer than 100 years (36525d)");
  EXPECT_EQ(last("\"36525d\""), "<no error>");
}

TEST(ConfigErrors, WindowFrom) {
  const auto from = [](const std::string& value) {
    return config_error("[[window]]\nname = \"w\"\nfrom = " + value + "\n" + kProject);
  };
  EXPECT_EQ(from("\"2015-13-01\""),
            "t.toml:3:window[0].from: \"2015-13-01\" is not an ISO-8601 UTC date or date-time (e.g. \"2015-01-01\")");
  EXPECT_EQ(from("\"2023-02-29\""),
            "t.toml:3:window[0].from: \"2023-02-29\" is not an ISO-8601 UTC date or date-time (e.g. \"2015-01-01\")");
  EXPECT_EQ(from("2015-01-01T00:00:00+02:00"), "t.toml:3:window[0].from: must be UTC (Z or no offset)");
  EXPECT_EQ(from("07:00:00"), "t.toml:3:window[0].from: expected a date, a date-time or a string, got a time");
  EXPECT_EQ(from("20150101"), "t.toml:3:window[0].from: expected a date, a date-time or a string, got an integer");
  EXPECT_EQ(from("\"1999-12-31T23:59:59Z\""),
            "t.toml:3:window[0].from: 1999-12-31T23:59:59Z is before 2000-01-01T00:00:00Z, the earliest first-seen time "
            "the job asks for");
  EXPECT_EQ(from("0001-01-01"),
            "t.toml:3:window[0].from: 0001-01-01T00:00:00Z is before 2000-01-01T00:00:00Z, the earliest first-seen time "
            "the job asks for");
  EXPECT_EQ(from("\"2000-01-01\""), "<no error>");
}

TEST(ConfigErrors, MatrixDimensions) {
  EXPECT_EQ(config_error("[matrix]\nplatform = [\"*\"]\n" + kBase),
            "t.toml:2:matrix.platform: unknown dimension; valid dimensions: status, target_platform, country, "
            "product_id, purchase_currency, locale, model, os_version, app_version, sdk_version, media_source_name, "
            "campaign_name, ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, exclude, include");
  EXPECT_EQ(config_error("matrix = 1\n" + kBase), "t.toml:1:matrix: expected a table, got an integer");
  EXPECT_EQ(config_error("[matrix]\ncountry = []\n" + kBase),
            "t.toml:2:matrix.country: must not be empty (use [\"*\"] for no filter)");
  EXPECT_EQ(config_error("[matrix]\ncountry = \"US\"\n" + kBase), "t.toml:2:matrix.country: expected an array, got a string");
}

TEST(ConfigErrors, MatrixValues) {
  const auto matrix = [](const std::string& line) { return config_error("[matrix]\n" + line + "\n" + kBase); };
  EXPECT_EQ(matrix("country = [\"*\", \"US\", \"usa\"]"), "t.toml:2:matrix.country[2]: \"usa\" does not match ^[A-Z]{2}$");
  EXPECT_EQ(matrix("purchase_currency = [\"usd\"]"),
            "t.toml:2:matrix.purchase_currency[0]: \"usd\" does not match ^[A-Z]{3}$");
  EXPECT_EQ(matrix("target_platform = [\"ios\"]"),
            "t.toml:2:matrix.target_platform[0]: \"ios\" is not a target platform: use iOS, Android or Stripe");
  EXPECT_EQ(matrix("status = [\"*\", 5]"),
            "t.toml:2:matrix.status[1]: \"5\" is not a status: use 1 (trial/intro), 2 (active), 3 (canceled) or 4 "
            "(billing retry)");
  EXPECT_EQ(matrix("status = [\"0\"]"),
            "t.toml:2:matrix.status[0]: \"0\" is not a status: use 1 (trial/intro), 2 (active), 3 (canceled) or 4 "
            "(billing retry)");
  EXPECT_EQ(matrix("status = [true]"), "t.toml:2:matrix.status[0]: expected \"*\", a value or a { name = \"...\", values = "
                                       "[...] } group, got a boolean");
  EXPECT_EQ(matrix("product_id = [\"\"]"), "t.toml:2:matrix.product_id[0]: empty value");
  EXPECT_EQ(matrix("product_id = [\"a\", 12]"), "t.toml:2:matrix.product_id[1]: expected a string, got an integer");
  EXPECT_EQ(matrix("locale = [1.5]"),
            "t.toml:2:matrix.locale[0]: expected \"*\", a value or a { name = \"...\", values = [...] } group, got a float");
  EXPECT_EQ(matrix("search = [\"" + std::string(256, 'x') + "\"]"),
            "t.toml:2:matrix.search[0]: search text is 256 characters long, the API takes at most 255");
  EXPECT_EQ(matrix("search = [{ name = \"g\", values = [\"a\"] }]"),
            "t.toml:2:matrix.search[0]: search takes plain strings, not groups (the API accepts one search text)");
}

TEST(ConfigErrors, MatrixDuplicates) {
  const auto matrix = [](const std::string& line) { return config_error("[matrix]\n" + line + "\n" + kBase); };
  EXPECT_EQ(matrix("country = [\"US\", \"GB\", \"US\"]"), "t.toml:2:matrix.country[2]: duplicate entry \"US\" (also entry [0])");
  EXPECT_EQ(matrix("country = [\"*\", \"US\", \"*\"]"), "t.toml:2:matrix.country[2]: duplicate entry \"*\" (also entry [0])");
  EXPECT_EQ(matrix("status = [1, \"1\"]"), "t.toml:2:matrix.status[1]: duplicate entry \"1\" (also entry [0])");
  EXPECT_EQ(matrix("product_id = [\"EU\", { name = \"EU\", values = [\"a\"] }]"),
            "t.toml:2:matrix.product_id[1]: group name \"EU\" is also the label of entry [0]");
  EXPECT_EQ(matrix("product_id = [{ name = \"EU\", values = [\"a\"] }, \"EU\"]"),
            "t.toml:2:matrix.product_id[1]: group name \"EU\" is also the label of entry [0]");
}

TEST(ConfigErrors, MatrixGroups) {
  const auto matrix = [](const std::string& line) { return config_error("[matrix]\n" + line + "\n" + kBase); };
  EXPECT_EQ(matrix("country = [{ values = [\"DE\"] }]"), "t.toml:2:matrix.country[0].name: a group needs a name (name = \"...\")");
  EXPECT_EQ(matrix("country = [{ name = \"\", values = [\"DE\"] }]"), "t.toml:2:matrix.country[0].name: must not be empty");
  EXPECT_EQ(matrix("country = [{ name = \"*\", values = [\"DE\"] }]"),
            "t.toml:2:matrix.country[0].name: \"*\" is reserved for no filter");
  EXPECT_EQ(matrix("country = [{ name = \"EU\" }]"), "t.toml:2:matrix.country[0].values: a group needs values (values = [...])");
  EXPECT_EQ(matrix("country = [{ name = \"EU\", values = [] }]"), "t.toml:2:matrix.country[0].values: must not be empty");
  EXPECT_EQ(matrix("country = [{ name = \"EU\", values = [\"DE\", \"de\"] }]"),
            "t.toml:2:matrix.country[0].values[1]: \"de\" does not match ^[A-Z]{2}$");
  EXPECT_EQ(matrix("country = [{ name = \"EU\", values = [\"DE\", \"*\"] }]"),
            "t.toml:2:matrix.country[0].values[1]: \"*\" (no filter) cannot be part of a group");
  EXPECT_EQ(matrix("country = [{ name = \"EU\", values = [\"DE\", \"DE\"] }]"),
            "t.toml:2:matrix.country[0].values[1]: duplicate value \"DE\" in group \"EU\"");
  EXPECT_EQ(matrix("country = [{ name = \"EU\", values = [\"DE\"], label = \"x\" }]"),
            "t.toml:2:matrix.country[0].label: unknown key; valid keys: name, values");
}

TEST(ConfigErrors, MatrixRules) {
  EXPECT_EQ(config_error("[matrix]\nexclude = \"x\"\n" + kBase), "t.toml:2:matrix.exclude: expected [[matrix.exclude]] tables, got a string");
  EXPECT_EQ(config_error("[matrix]\nexclude = [1]\n" + kBase), "t.toml:2:matrix.exclude[0]: expected a table, got an integer");
  EXPECT_EQ(config_error("[[matrix.exclude]]\n" + kBase), "t.toml:1:matrix.exclude[0]: names no dimension (e.g. country = \"US\")");
  EXPECT_THAT(config_error("[[matrix.include]]\nplatform = \"iOS\"\n" + kBase),
              StartsWith("t.toml:2:matrix.include[0].platform: unknown dimension; valid dimensions: status, "));
  EXPECT_THAT(config_error("[[matrix.include]]\ninclude = \"x\"\n" + kBase),
              StartsWith("t.toml:2:matrix.include[0].include: unknown dimension; valid dimensions: status, "));
  EXPECT_EQ(config_error("[[matrix.exclude]]\ncountry = \"usa\"\n" + kBase),
            "t.toml:2:matrix.exclude[0].country: \"usa\" does not match ^[A-Z]{2}$");
  EXPECT_EQ(config_error("[[matrix.include]]\ncountry = [\"US\"]\n" + kBase),
            "t.toml:2:matrix.include[0].country: expected a string, got an array");
  EXPECT_EQ(config_error("[[matrix.include]]\nstatus = 9\n" + kBase),
            "t.toml:2:matrix.include[0].status: \"9\" is not a status: use 1 (trial/intro), 2 (active), 3 (canceled) "
            "or 4 (billing retry)");
  // A group name is accepted only in the dimension that defines it.
  EXPECT_EQ(config_error("[matrix]\ncountry = [{ name = \"EU\", values = [\"DE\"] }]\n[[matrix.include]]\ncountry = \"EU\"\n"
                         "target_platform = \"EU\"\n" + kBase),
            "t.toml:5:matrix.include[0].target_platform: \"EU\" is not a target platform: use iOS, Android or Stripe");
}

}  // namespace
}  // namespace qetl
