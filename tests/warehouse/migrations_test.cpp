// The migrations embedded from sql/ at build time.
#include <gtest/gtest.h>

#include <string>

#include "util/errors.hpp"
#include "warehouse/migrations.hpp"

namespace qetl {
namespace {

TEST(EmbeddedMigrations, BothBackendsHoldTheSameVersionsInAscendingOrder) {
  const auto& pg = postgres_migrations();
  const auto& lite = sqlite_migrations();
  ASSERT_FALSE(pg.empty());
  ASSERT_EQ(pg.size(), lite.size());
  for (std::size_t i = 0; i < pg.size(); ++i) {
    EXPECT_EQ(pg[i].version, static_cast<int>(i) + 1) << "versions are 1, 2, 3, ... without gaps";
    EXPECT_EQ(pg[i].version, lite[i].version);
    EXPECT_STREQ(pg[i].name, lite[i].name);
  }
  EXPECT_EQ(latest_version(pg), pg.back().version);
}

TEST(EmbeddedMigrations, FirstMigrationIsTheWholeInitialSchema) {
  for (const auto* list : {&postgres_migrations(), &sqlite_migrations()}) {
    const Migration& m = list->front();
    EXPECT_EQ(m.version, 1);
    EXPECT_STREQ(m.name, "initial");
    const std::string sql = m.sql;
    for (const char* table : {"customer_metrics", "etl_runs", "etl_cell_failures", "schema_migrations"}) {
      EXPECT_NE(sql.find(std::string("CREATE TABLE ") + table), std::string::npos) << table;
    }
    // The file's end survives embedding (nothing cut at a ';' or a quote).
    EXPECT_NE(sql.find("applied_at"), std::string::npos);
    EXPECT_EQ(sql.find("qetl_sql"), std::string::npos);
  }
}

TEST(EmbeddedMigrations, NewerDatabaseIsRefusedNamingBothVersions) {
  try {
    refuse_newer_schema(3, 1);
    FAIL() << "no error";
  } catch (const WarehouseError& e) {
    EXPECT_STREQ(e.what(), "database schema is version 3, this binary knows up to 1: upgrade qonversion-etl");
    EXPECT_EQ(e.code(), ExitCode::warehouse);
  }
  EXPECT_NO_THROW(refuse_newer_schema(1, 1));
  EXPECT_NO_THROW(refuse_newer_schema(0, 1));
}

TEST(EmbeddedMigrations, NextMigrationIsTheFirstNewerThanTheDatabase) {
  const auto& list = postgres_migrations();
  EXPECT_EQ(next_migration(list, 0), &list.front());
  EXPECT_EQ(next_migration(list, latest_version(list)), nullptr);
}

}  // namespace
}  // namespace qetl
