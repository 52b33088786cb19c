#pragma once
// The two warehouses the typed tests run against, each with a way to read the database back
// with plain SQL (SQLiteCpp / libpqxx directly), never through the code under test.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/pg_test_db.hpp"
#include "common/temp_dir.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::test {

using Value = std::optional<std::string>;  // one column as text; nullopt = SQL NULL
using Rows = std::vector<std::vector<Value>>;

inline constexpr const char* kTestSchema = "qetl_test";

class SqliteBackend {
 public:
  static constexpr const char* kName = "sqlite";
  // SQLite has no exact decimal type: NUMERIC affinity keeps about 15 significant digits.
  static constexpr bool kExactDecimals = false;

  std::string url() const { return "sqlite://" + path(); }  // path is absolute: sqlite:///tmp/...
  std::string path() const { return dir_.file("warehouse.sqlite"); }
  std::unique_ptr<Warehouse> open() const { return open_warehouse(url(), kTestSchema); }

  Rows query(const std::string& sql) const {
    SQLite::Database db(path(), SQLite::OPEN_READONLY);
    SQLite::Statement s(db, sql);
    Rows rows;
    while (s.executeStep()) {
      std::vector<Value> row;
      for (int i = 0; i < s.getColumnCount(); ++i) {
        const SQLite::Column c = s.getColumn(i);
        row.push_back(c.isNull() ? Value() : Value(c.getString()));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void exec(const std::string& sql) const {
    SQLite::Database db(path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(sql);
  }
  // SQL rendering a timestamp column as 'YYYY-MM-DD HH:MM:SS' UTC.
  static std::string ts(const std::string& column) { return column; }
  bool table_exists(const std::string& name) const {
    SQLite::Database db(path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Statement s(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    s.bind(1, name);
    return s.executeStep();
  }
  void create_empty_schema() const {}

 private:
  TempDir dir_;
};

class PostgresBackend {
 public:
  static constexpr const char* kName = "postgresql";
  static constexpr bool kExactDecimals = true;

  PostgresBackend() { PgTestDatabase::instance().reset_schema(kTestSchema); }

  std::string url() const { return PgTestDatabase::instance().uri(); }
  std::unique_ptr<Warehouse> open() const { return open_warehouse(url(), kTestSchema); }

  Rows query(const std::string& sql) const {
    const auto c = connect();
    pqxx::work w(*c);
    Rows rows;
    for (const auto& r : w.exec(sql)) {
      std::vector<Value> row;
      for (const auto& f : r) row.push_back(f.is_null() ? Value() : Value(f.c_str()));
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void exec(const std::string& sql) const {
    const auto c = connect();
    pqxx::work w(*c);
    w.exec(sql);
    w.commit();
  }
  static std::string ts(const std::string& column) {
    return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";
  }
  bool table_exists(const std::string& name) const {
    const auto c = connect();
    pqxx::work w(*c);
    return w.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)",
                          std::string(kTestSchema), name)[0]
        .as<bool>();
  }
  void create_empty_schema() const { exec(std::string("CREATE SCHEMA ") + kTestSchema); }

 private:
  static std::unique_ptr<pqxx::connection> connect() {
    auto c = std::make_unique<pqxx::connection>(PgTestDatabase::instance().conninfo());
    c->set_variable("search_path", kTestSchema);
    return c;
  }
};

// Both backends, for typed test suites; GetName makes the test names say which backend ran.
struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;

}  // namespace qetl::test
