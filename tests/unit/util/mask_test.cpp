#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/log.hpp"
#include "util/mask.hpp"

namespace qetl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MaskWarehouseUrl, HidesUriPasswords) {
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:s3cr3t@db.internal:5432/analytics"),
            "postgresql://etl:****@db.internal:5432/analytics");
  EXPECT_EQ(mask_warehouse_url("postgres://etl:s3cr3t@db/x"), "postgres://etl:****@db/x");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl@db/x?password=s3cr3t&sslmode=require"),
            "postgresql://etl@db/x?password=****&sslmode=require");
}

// Passwords as libpq reads them: '#', '?', quotes, spaces and %-escapes belong to the password.
TEST(MaskWarehouseUrl, HidesPasswordsHoldingUrlDelimiters) {
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:a#b?c@db/x"), "postgresql://etl:****@db/x");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:p%40ss%2Fw@db/x"), "postgresql://etl:****@db/x");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:it's%20me@db/x"), "postgresql://etl:****@db/x");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl@db/x?sslmode=require&password=a%26b%3Dc"),
            "postgresql://etl@db/x?sslmode=require&password=****");
}

// libpq ends the user info at the first '@': a password with a bare '@' or '/' would be read as
// part of the host, port or database. Nothing of such a URL is shown but its scheme.
TEST(MaskWarehouseUrl, AmbiguousUserInfoShowsOnlyTheScheme) {
  for (const char* url : {"postgresql://etl:p@ss@db/x", "postgresql://etl:pa/ss@db/x", "postgresql://etl:pa/ss",
                          "postgres://etl:p@ss@db:5432/x?sslmode=require"}) {
    const std::string shown = mask_warehouse_url(url);
    EXPECT_THAT(shown, Not(HasSubstr("ss"))) << url;
    EXPECT_EQ(shown, std::string(url).substr(0, std::string(url).find("://") + 3) + "****") << url;
  }
}

TEST(MaskWarehouseUrl, TargetsLibpqCannotParseShowNothingButTheScheme) {
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:Hunter2Secret@[db.internal/analytics"), "postgresql://****");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:%ZZHunter2@db/x"), "postgresql://****");
  EXPECT_EQ(mask_warehouse_url("host=db password='unterminated"), "****");
  EXPECT_EQ(mask_warehouse_url("host=db password=Hunter2 nonsense"), "****");
}

TEST(MaskWarehouseUrl, ConninfoIsShownAsLibpqReadsItWithThePasswordMasked) {
  EXPECT_EQ(mask_warehouse_url("host=db user=etl password=s3cr3t dbname=x"), "user=etl password=**** dbname=x host=db");
  EXPECT_EQ(mask_warehouse_url("host=db password = 'a b\\'c' dbname='my db'"), "password=**** dbname='my db' host=db");
}

TEST(MaskWarehouseUrl, LeavesUrlsWithoutPasswordsAlone) {
  EXPECT_EQ(mask_warehouse_url("sqlite:///var/lib/x.sqlite"), "sqlite:///var/lib/x.sqlite");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl@db/x"), "postgresql://etl@db/x");
  EXPECT_EQ(mask_warehouse_url("postgresql://[::1]:5432/x"), "postgresql://[::1]:5432/x");
  EXPECT_EQ(mask_warehouse_url("/var/lib/x.sqlite"), "/var/lib/x.sqlite");
}

TEST(MaskWarehouseUrl, OtherSchemesHideEverythingUpToTheLastAt) {
  EXPECT_EQ(mask_warehouse_url("https://admin:p@ss/w@metabase.internal/api"), "https://admin:****@metabase.internal/api");
  EXPECT_EQ(mask_warehouse_url("mysql://etl:hunter2pw@db.internal/analytics"), "mysql://etl:****@db.internal/analytics");
  EXPECT_EQ(mask_warehouse_url("https://metabase.internal:3000/api/notify/db/2"),
            "https://metabase.internal:3000/api/notify/db/2");
}

TEST(MaskWarehouseText, RedactsThePasswordInEverySpellingAndTheTargetItself) {
  const std::string url = "postgresql://etl:p%40ss%20w@db/x";
  EXPECT_EQ(mask_warehouse_text("a p@ss w b p%40ss%20w c p%40ss%20w", url), "a **** b **** c ****");
  EXPECT_EQ(mask_warehouse_text("bad URI: \"" + url + "\"", url), "bad URI: \"****\"");
  const std::string conninfo = "host=db password='it\\'s' dbname=x";
  EXPECT_EQ(mask_warehouse_text("x it's y it\\'s z", conninfo), "x **** y **** z");
  EXPECT_EQ(mask_warehouse_text("nothing secret here", "postgresql://etl@db/x"), "nothing secret here");
}

TEST(ParsePgTarget, ReadsBothFormsAsLibpqDoes) {
  const auto uri = parse_pg_target("postgresql://etl:a%40b@db:5433/x?sslmode=require");
  ASSERT_TRUE(uri.has_value());
  EXPECT_TRUE(uri->uri);
  EXPECT_EQ(uri->option("password"), "a@b");
  EXPECT_EQ(uri->option("port"), "5433");
  EXPECT_EQ(uri->option("sslmode"), "require");
  EXPECT_EQ(uri->option("hostaddr"), std::nullopt);
  const auto conninfo = parse_pg_target("dbname = x password='a b'");
  ASSERT_TRUE(conninfo.has_value());
  EXPECT_FALSE(conninfo->uri);
  EXPECT_EQ(conninfo->option("password"), "a b");
  EXPECT_EQ(parse_pg_target("host=db password='x"), std::nullopt);
  EXPECT_EQ(parse_pg_target(std::string("host=db\0password=x", 19)), std::nullopt);
}

TEST(PgUriAmbiguity, FlagsUserInfoLibpqWouldSplitElsewhere) {
  EXPECT_TRUE(pg_uri_ambiguity(*parse_pg_target("postgresql://etl:p@ss@db/x")).has_value());
  EXPECT_TRUE(pg_uri_ambiguity(*parse_pg_target("postgresql://etl:a/b@db/x")).has_value());
  EXPECT_TRUE(pg_uri_ambiguity(*parse_pg_target("postgresql://etl:secret/x")).has_value());
  EXPECT_FALSE(pg_uri_ambiguity(*parse_pg_target("postgresql://etl:p%40ss@db:5432,db2:5433/x")).has_value());
  EXPECT_FALSE(pg_uri_ambiguity(*parse_pg_target("postgresql://etl@db/x?user=a@b")).has_value());
  EXPECT_FALSE(pg_uri_ambiguity(*parse_pg_target("host=a@b dbname=x")).has_value()) << "conninfo quoting is exact";
}

TEST(Redact, ReplacesEverySecretOccurrence) {
  EXPECT_EQ(redact("GET /v1/KEY/x?KEY", "KEY"), "GET /v1/****/x?****");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}

TEST(LogRender, TextQuotesValuesThatNeedIt) {
  EXPECT_EQ(log::render(log::Level::warning, "cell failed", {{"segment", "country=US"}, {"n", "3"}}, log::Format::text, "T"),
            "T warning cell failed segment=\"country=US\" n=3");
}

TEST(LogRender, JsonIsOneObjectPerLine) {
  EXPECT_EQ(log::render(log::Level::error, "bad \"x\"\n", {{"k", "v"}}, log::Format::json, "T"),
            R"({"ts":"T","level":"error","msg":"bad \"x\"\n","k":"v"})");
}

}  // namespace
}  // namespace qetl
