#include "warehouse/migrations.hpp"

#include <string>

#include "util/errors.hpp"

namespace qetl {

void refuse_newer_schema(int database_version, int latest) {
  if (database_version > latest) {
    throw WarehouseError("database schema is version " + std::to_string(database_version) +
                         ", this binary knows up to " + std::to_string(latest) + ": upgrade qonversion-etl");
  }
}

bool has_statements(const char* sql) {
  for (const char* p = sql; *p != '\0'; ++p) {
    if (*p == '-' && p[1] == '-') {
      while (*p != '\0' && *p != '\n') ++p;
      if (*p == '\0') return false;
    } else if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      return true;
    }
  }
  return false;
}

const Migration* next_migration(const std::vector<Migration>& migrations, int database_version) {
  for (const auto& m : migrations) {
    if (m.version > database_version) return &m;
  }
  return nullptr;
}

}  // namespace qetl
