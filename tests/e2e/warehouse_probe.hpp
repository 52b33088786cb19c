#pragma once
// Reads what the job wrote with plain SQL through the database libraries directly — never
// through the code under test — so the end-to-end tests check the real tables.
#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/pg_test_db.hpp"
#include "common/temp_dir.hpp"

namespace qetl::test {

using SqlRow = std::map<std::string, std::optional<std::string>>;

class WarehouseProbe {
 public:
  virtual ~WarehouseProbe() = default;
  virtual std::string name() const = 0;
  // The [warehouse] table lines for the job's config.
  virtual std::string config_lines() const = 0;
  // Every column as text (NULL as nullopt).
  virtual std::vector<SqlRow> query(const std::string& sql) = 0;
  // Runs statements that write (what a DBA would do to the job's tables), committed.
  virtual void execute(const std::string& sql) = 0;
  // SQL for a timestamp column as Unix seconds.
  virtual std::string epoch(const std::string& column) const = 0;
  virtual bool has_table(const std::string& table) = 0;
  // A writer lock another client holds (a BI tool, a DBA) until the returned object goes: the
  // job's next commit to `table` waits on it.
  struct HeldLock {
    virtual ~HeldLock() = default;
  };
  virtual std::unique_ptr<HeldLock> hold_write_lock_on(const std::string& table) = 0;

  std::int64_t count(const std::string& from_where) {
    return std::stoll(*query("SELECT count(*) AS n FROM " + from_where).at(0).at("n"));
  }
};

class SqliteProbe : public WarehouseProbe {
 public:
  explicit SqliteProbe(const TempDir& dir) : path_(dir.file("warehouse/metrics.sqlite")) {}
  std::string name() const override { return "sqlite"; }
  std::string config_lines() const override { return "url = \"sqlite://" + path_ + "\"\n"; }
  std::string epoch(const std::string& column) const override { return "CAST(strftime('%s', " + column + ") AS INTEGER)"; }
  const std::string& path() const { return path_; }

  std::vector<SqlRow> query(const std::string& sql) override {
    SQLite::Database db(path_, SQLite::OPEN_READONLY);
    SQLite::Statement st(db, sql);
    std::vector<SqlRow> rows;
    while (st.executeStep()) {
      SqlRow row;
      for (int i = 0; i < st.getColumnCount(); ++i) {
        const SQLite::Column c = st.getColumn(i);
        row[st.getColumnName(i)] = c.isNull() ? std::nullopt : std::optional<std::string>(c.getString());
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void execute(const std::string& sql) override {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec(sql);
  }

  // SQLite locks the whole file: BEGIN IMMEDIATE keeps every other writer waiting.
  std::unique_ptr<HeldLock> hold_write_lock_on(const std::string&) override {
    struct Lock : HeldLock {
      explicit Lock(const std::string& path) : db(path, SQLite::OPEN_READWRITE) { db.exec("BEGIN IMMEDIATE"); }
      ~Lock() override { db.exec("ROLLBACK"); }
      SQLite::Database db;
    };
    return std::make_unique<Lock>(path_);
  }

  bool has_table(const std::string& table) override {
    if (!std::filesystem::exists(path_)) return false;
    return !query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'").empty();
  }

 private:
  std::string path_;
};

class PostgresProbe : public WarehouseProbe {
 public:
  explicit PostgresProbe(const TempDir&) {
    schema_ = "e2e_" + std::to_string(++counter());
    PgTestDatabase::instance().reset_schema(schema_);
  }
  std::string name() const override { return "postgresql"; }
  std::string config_lines() const override {
    return "url = \"" + PgTestDatabase::instance().uri() + "\"\nschema = \"" + schema_ + "\"\n";
  }
  std::string epoch(const std::string& column) const override { return "extract(epoch from " + column + ")::bigint"; }
  const std::string& schema() const { return schema_; }

  std::vector<SqlRow> query(const std::string& sql) override {
    pqxx::connection c(PgTestDatabase::instance().conninfo());
    pqxx::work w(c);
    w.exec("SET search_path TO " + w.quote_name(schema_));
    const pqxx::result r = w.exec(sql);
    std::vector<SqlRow> rows;
    for (const auto& tuple : r) {
      SqlRow row;
      for (const auto& field : tuple) {
        row[field.name()] = field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str());
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void execute(const std::string& sql) override {
    pqxx::connection c(PgTestDatabase::instance().conninfo());
    pqxx::work w(c);
    w.exec("SET search_path TO " + w.quote_name(schema_));
    w.exec(sql);
    w.commit();
  }

  std::unique_ptr<HeldLock> hold_write_lock_on(const std::string& table) override {
    struct Lock : HeldLock {
      Lock(const std::string& schema, const std::string& table) : c(PgTestDatabase::instance().conninfo()), w(c) {
        w.exec("LOCK TABLE " + w.quote_name(schema) + "." + w.quote_name(table) + " IN EXCLUSIVE MODE");
      }
      pqxx::connection c;
      pqxx::work w;  // rolled back when the lock goes
    };
    return std::make_unique<Lock>(schema_, table);
  }

  bool has_table(const std::string& table) override {
    return !query("SELECT 1 AS x FROM information_schema.tables WHERE table_schema = '" + schema_ +
                  "' AND table_name = '" + table + "'")
                .empty();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string schema_;
};

}  // namespace qetl::test
