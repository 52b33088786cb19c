// Choosing the backend from warehouse.url, and what a user sees when the URL is wrong.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/temp_dir.hpp"
#include "util/errors.hpp"
#include "util/mask.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"
#include "warehouse/warehouse.hpp"
#include "warehouse/warehouse_url.hpp"

namespace qetl::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string config_error_of(const std::string& url) {
  try {
    open_warehouse(url, "qetl_test");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << url;
  return "";
}

std::string warehouse_error_of(const std::string& url) {
  try {
    open_warehouse(url, "qetl_test");
  } catch (const WarehouseError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no WarehouseError for " << url;
  return "";
}

TEST(OpenWarehouse, UnknownSchemeErrorListsTheValidForms) {
  const std::string what = config_error_of("mysql://etl:hunter2pw@db.internal/analytics");
  EXPECT_THAT(what, HasSubstr("sqlite:///"));
  EXPECT_THAT(what, HasSubstr("sqlite:relative"));
  EXPECT_THAT(what, HasSubstr("postgresql://"));
  EXPECT_THAT(what, HasSubstr("postgres://"));
  EXPECT_THAT(what, HasSubstr("conninfo"));
  EXPECT_THAT(what, HasSubstr("mysql://etl:****@db.internal"));
  EXPECT_THAT(what, Not(HasSubstr("hunter2pw")));
}

TEST(OpenWarehouse, EmptyUrlIsAConfigError) {
  EXPECT_THAT(config_error_of(""), HasSubstr("sqlite:///"));
}

TEST(OpenWarehouse, PathWithoutSchemeIsRefusedRatherThanGuessed) {
  EXPECT_THAT(config_error_of("/var/lib/qonversion-etl/metrics.sqlite"), HasSubstr("unsupported warehouse URL"));
}

TEST(OpenWarehouse, SqliteUrlWithAHostPartIsRefusedAsAmbiguous) {
  const std::string what = config_error_of("sqlite://data/metrics.sqlite");
  EXPECT_THAT(what, HasSubstr("ambiguous"));
  EXPECT_THAT(what, HasSubstr("sqlite:///absolute/path.sqlite"));
}

TEST(OpenWarehouse, SqliteUrlWithoutAPathIsRefused) {
  EXPECT_THAT(config_error_of("sqlite:"), HasSubstr("names no file"));
  EXPECT_THAT(config_error_of("sqlite://"), HasSubstr("ambiguous"));
}

TEST(SqlitePathFromUrl, AcceptsTheDocumentedForms) {
  EXPECT_EQ(sqlite_path_from_url("sqlite:///var/lib/qonversion-etl/metrics.sqlite"),
            "/var/lib/qonversion-etl/metrics.sqlite");
  EXPECT_EQ(sqlite_path_from_url("sqlite:data/metrics.sqlite"), "data/metrics.sqlite");
  EXPECT_EQ(sqlite_path_from_url("sqlite:/abs/metrics.sqlite"), "/abs/metrics.sqlite");
}

TEST(OpenWarehouse, SqliteCreatesMissingParentDirectories) {
  TempDir dir;
  const std::string file = dir.file("a/b/c/metrics.sqlite");
  auto w = open_warehouse("sqlite://" + file, "ignored");
  EXPECT_EQ(w->backend(), "sqlite");
  EXPECT_EQ(w->migrate(), w->latest_schema_version());
  EXPECT_TRUE(std::filesystem::is_regular_file(file));
}

TEST(OpenWarehouse, SqliteRelativePathIsResolvedAgainstTheWorkingDirectory) {
  TempDir dir;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  try {
    open_warehouse("sqlite:rel/metrics.sqlite", "ignored")->migrate();
  } catch (...) {
    std::filesystem::current_path(previous);
    throw;
  }
  std::filesystem::current_path(previous);
  EXPECT_TRUE(std::filesystem::is_regular_file(dir.path() / "rel" / "metrics.sqlite"));
}

TEST(OpenWarehouse, SqliteUsesWriteAheadLogging) {
  TempDir dir;
  const std::string file = dir.file("metrics.sqlite");
  auto w = open_warehouse("sqlite://" + file, "ignored");
  w->migrate();
  // WAL mode is recorded in the file, so a fresh connection (a BI tool) reports it.
  SQLite::Database reader(file, SQLite::OPEN_READONLY);
  EXPECT_EQ(reader.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST(OpenWarehouse, SqliteFileThatCannotBeCreatedIsAWarehouseError) {
  TempDir dir;
  const std::string blocker = dir.file("not-a-directory");
  { std::FILE* f = std::fopen(blocker.c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  const std::string what = warehouse_error_of("sqlite://" + blocker + "/metrics.sqlite");
  EXPECT_THAT(what, HasSubstr("cannot open SQLite warehouse"));
  EXPECT_THAT(what, HasSubstr(blocker));
}

TEST(OpenWarehouse, UnreachablePostgresUriIsAWarehouseErrorWithThePasswordMasked) {
  const std::string what = warehouse_error_of("postgresql://etl:Sup3rS3cret@127.0.0.1:1/analytics");
  EXPECT_THAT(what, HasSubstr("cannot connect to PostgreSQL warehouse"));
  EXPECT_THAT(what, HasSubstr("postgresql://etl:****@127.0.0.1:1/analytics"));
  EXPECT_THAT(what, HasSubstr("refused"));  // libpq's reason
  EXPECT_THAT(what, Not(HasSubstr("Sup3rS3cret")));
  EXPECT_THAT(what, Not(HasSubstr("\n")));
}

TEST(OpenWarehouse, UnreachablePostgresConninfoIsAWarehouseErrorWithThePasswordMasked) {
  const std::string what =
      warehouse_error_of("host=127.0.0.1 port=1 dbname=analytics user=etl password=Sup3rS3cret connect_timeout=5");
  EXPECT_THAT(what, HasSubstr("password=****"));
  EXPECT_THAT(what, HasSubstr("127.0.0.1"));
  EXPECT_THAT(what, Not(HasSubstr("Sup3rS3cret")));
}

TEST(OpenWarehouse, PostgresSchemeAliasIsAcceptedToo) {
  const std::string what = warehouse_error_of("postgres://etl:Sup3rS3cret@127.0.0.1:1/analytics");
  EXPECT_THAT(what, HasSubstr("PostgreSQL"));
  EXPECT_THAT(what, Not(HasSubstr("Sup3rS3cret")));
}

TEST(PgTarget, ConninfoIsRecognisedByItsLeadingKeyword) {
  EXPECT_TRUE(is_pg_conninfo("host=db.internal dbname=analytics"));
  EXPECT_TRUE(is_pg_conninfo("  dbname = analytics"));
  EXPECT_FALSE(is_pg_conninfo("mysql://x"));
  EXPECT_FALSE(is_pg_conninfo("/var/lib/x.sqlite"));
  EXPECT_FALSE(is_pg_conninfo("=x"));
  EXPECT_FALSE(is_pg_conninfo(""));
}

// The connection string handed to libpq is rebuilt from libpq's own reading of the target, so
// what follows the password (a '?' in it, a query) can never be mistaken for something else.
TEST(PgTarget, ApplicationNameIsAddedToWhatLibpqReads) {
  EXPECT_EQ(with_application_name("postgresql://db/analytics"),
            "dbname=analytics host=db fallback_application_name=qonversion-etl");
  EXPECT_EQ(with_application_name("postgresql://db/analytics?sslmode=require"),
            "dbname=analytics host=db sslmode=require fallback_application_name=qonversion-etl");
  EXPECT_EQ(with_application_name("postgres://etl:a?b%20c@db/analytics?"),
            "user=etl password='a?b c' dbname=analytics host=db fallback_application_name=qonversion-etl");
  EXPECT_EQ(with_application_name("host=db dbname=analytics"),
            "dbname=analytics host=db fallback_application_name=qonversion-etl");
  EXPECT_EQ(with_application_name("host=db fallback_application_name=mine"), "host=db fallback_application_name=mine");
}

// Targets users wrote: what libpq cannot parse, or would split elsewhere than meant, is refused
// before any connection, and no part of the password reaches the message.
TEST(OpenWarehouse, UnparsableOrAmbiguousPostgresTargetsNeverShowThePassword) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"postgresql://etl:Hunter2Secret@[db.internal/analytics", {"Hunter2Secret", "Hunter2"}},
      {"host=db.internal user=etl password='unterminated", {"unterminated"}},
      {"postgresql://etl:%ZZsecret@db/x", {"%ZZ", "ZZsecret"}},
      {"postgresql://etl:p@ss@db/x", {"p@ss", "ss@db"}},
      {"postgresql://etl:pa/ss@db/x", {"pa/ss", "ss@db"}},
      {"postgresql://etl:Hunter2/x", {"Hunter2"}},
  };
  for (const auto& [url, secrets] : cases) {
    const std::string what = config_error_of(url);
    EXPECT_THAT(what, HasSubstr("PostgreSQL")) << url;
    const auto problem = warehouse_url_problem(url);
    ASSERT_TRUE(problem.has_value()) << url;
    EXPECT_EQ(*problem, what);
    for (const std::string& secret : secrets) {
      EXPECT_THAT(what, Not(HasSubstr(secret))) << url;
      EXPECT_THAT(mask_warehouse_url(url), Not(HasSubstr(secret))) << url;
    }
  }
  EXPECT_THAT(config_error_of("postgresql://etl:p@ss@db/x"), HasSubstr("%40"));
}

TEST(OpenWarehouse, PasswordsWithUrlDelimitersAreMaskedWhenTheServerIsUnreachable) {
  for (const std::string url : {"postgresql://etl:p%40ss%2F%23w?rd@127.0.0.1:1/analytics",
                                "host=127.0.0.1 port=1 user=etl password='p@ss/#w?rd x' dbname=analytics"}) {
    const std::string what = warehouse_error_of(url);
    EXPECT_THAT(what, HasSubstr("cannot connect to PostgreSQL warehouse"));
    EXPECT_THAT(what, HasSubstr("****"));
    for (const char* piece : {"p@ss", "p%40ss", "#w?rd", "%23w", "rd x"}) EXPECT_THAT(what, Not(HasSubstr(piece))) << url;
  }
}

TEST(WarehouseUrlProblem, SqliteUrlsThatWouldKeepNothingOrLandElsewhereAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sqlite::memory:", "nothing would be kept"},
      {"sqlite:file:metrics.sqlite?mode=memory", "nothing would be kept"},
      {"sqlite:///:memory:", ""},  // a file named ":memory:" in / is a file
      {"sqlite:~/metrics.sqlite", "absolute path"},
      {"sqlite:~", "absolute path"},
      {"sqlite:///var/lib/x.sqlite?mode=ro", "?query or #fragment"},
      {"sqlite:data/x.sqlite#main", "?query or #fragment"},
      {"sqlite:", "names no file"},
      {"sqlite://", "ambiguous"},
      {"sqlite://host/x.sqlite", "ambiguous"},
      {"sqlite:data/x.sqlite", ""},
      {"sqlite:///var/lib/qonversion-etl/metrics.sqlite", ""},
  };
  for (const auto& [url, want] : cases) {
    const auto problem = warehouse_url_problem(url);
    if (want.empty()) {
      EXPECT_EQ(problem, std::nullopt) << url;
    } else {
      ASSERT_TRUE(problem.has_value()) << url;
      EXPECT_THAT(*problem, HasSubstr(want)) << url;
      EXPECT_THAT(*problem, HasSubstr("'" + url + "'")) << "names the URL: " << url;
    }
  }
}

TEST(WarehouseUrlProblem, UnknownSchemesListTheValidOnesWithoutThePassword) {
  const auto problem = warehouse_url_problem("mysql://etl:hunter2pw@db.internal/analytics");
  ASSERT_TRUE(problem.has_value());
  EXPECT_THAT(*problem, HasSubstr("sqlite:///absolute/path.sqlite"));
  EXPECT_THAT(*problem, HasSubstr("postgresql://"));
  EXPECT_THAT(*problem, Not(HasSubstr("hunter2pw")));
  EXPECT_THAT(*warehouse_url_problem(""), HasSubstr("empty"));
  EXPECT_EQ(warehouse_url_problem("postgresql://etl:s3cr3t@db.internal/analytics"), std::nullopt);
  EXPECT_EQ(warehouse_url_problem("host=db.internal dbname=analytics password='a b@c/d'"), std::nullopt);
}

// Refused before anything is created: no folder named '~', no lock file named ":memory:...".
TEST(OpenWarehouse, RefusedSqliteUrlsCreateNothing) {
  TempDir dir;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  for (const char* url : {"sqlite::memory:", "sqlite:~/x.sqlite", "sqlite:x.sqlite?mode=ro"}) {
    try {
      auto w = open_warehouse(url, "ignored");
      w->try_lock_run({"alpha"}, "all", this_process_holder(0));
      ADD_FAILURE() << "opened " << url;
    } catch (const ConfigError&) {
    }
  }
  std::filesystem::current_path(previous);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace qetl::test
