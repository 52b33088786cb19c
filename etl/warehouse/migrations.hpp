#pragma once
// The schema migrations of both warehouses, embedded at build time from
// sql/<backend>/NNN_name.sql by cmake/embed_migrations.cmake (the definitions are generated
// into <build>/generated/embedded_migrations.cpp). Both lists hold the same versions.
#include <vector>

namespace qetl {

struct Migration {
  int version;       // NNN of the file name, >= 1
  const char* name;  // the name part of the file name, e.g. "initial"
  const char* sql;   // the whole file; runs in one transaction, objects unqualified
};

// Sorted by ascending version; the build refuses duplicate versions.
const std::vector<Migration>& postgres_migrations();
const std::vector<Migration>& sqlite_migrations();

// The highest version in `migrations` (0 when empty).
inline int latest_version(const std::vector<Migration>& migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

// Throws WarehouseError ("database schema is version 3, this binary knows up to 1: upgrade
// qonversion-etl") when the database is newer than this binary: an old binary must not write
// into a schema it does not understand.
void refuse_newer_schema(int database_version, int latest);

// The scripts that keep the structures derived from customer_metrics (the trend views' helpers)
// up to date, from sql/<backend>/derived/: rebuild.sql recomputes them all from customer_metrics
// (`migrate --rebuild`); refresh_day.sql computes one UTC day of them again when a run that
// stored rows ends (PostgreSQL: one statement, $1 the day; SQLite: a script reading the day from
// the temp table qetl_refresh_day). Empty text: nothing to do.
const char* postgres_rebuild_sql();
const char* postgres_refresh_day_sql();
const char* sqlite_rebuild_sql();
const char* sqlite_refresh_day_sql();

// True when `sql` holds more than blanks and -- comments.
bool has_statements(const char* sql);

// The first migration newer than `database_version`, or nullptr when the database is current.
const Migration* next_migration(const std::vector<Migration>& migrations, int database_version);

}  // namespace qetl
