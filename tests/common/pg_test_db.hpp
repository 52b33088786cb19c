#pragma once
// A throwaway PostgreSQL database per test binary, on the server the libpq environment
// points at (PGHOST, PGPORT, PGUSER, PGPASSWORD — `pg_virtualenv` sets them). Named by pid
// and time; dropped at exit unless QETL_KEEP_TEST_DB is set. No server is a failure, not a
// skip: the test command always provides one.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <pqxx/pqxx>
#include <string>

namespace qetl::test {

class PgTestDatabase {
 public:
  static PgTestDatabase& instance() {
    static PgTestDatabase db;
    return db;
  }

  const std::string& name() const { return name_; }
  // A libpq conninfo string for the test database (the rest comes from the environment).
  std::string conninfo() const { return "dbname=" + name_; }
  // The same as a postgresql:// URI, as the job's config takes it.
  std::string uri() const {
    const char* host = std::getenv("PGHOST");
    const char* port = std::getenv("PGPORT");
    std::string uri = "postgresql:///" + name_;
    std::string sep = "?";
    if (host != nullptr) { uri += sep + "host=" + host; sep = "&"; }
    if (port != nullptr) { uri += sep + "port=" + port; }
    return uri;
  }
  // Drops and recreates `schema` so each test starts empty.
  void reset_schema(const std::string& schema) {
    pqxx::connection c(conninfo());
    pqxx::work w(c);
    w.exec("DROP SCHEMA IF EXISTS " + w.quote_name(schema) + " CASCADE");
    w.commit();
  }

  ~PgTestDatabase() {
    if (std::getenv("QETL_KEEP_TEST_DB") != nullptr) {
      std::cerr << "keeping test database " << name_ << "\n";
      return;
    }
    try {
      pqxx::connection c(admin_conninfo());
      pqxx::nontransaction w(c);
      w.exec("DROP DATABASE IF EXISTS " + w.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::cerr << "could not drop test database " << name_ << ": " << e.what() << "\n";
    }
  }

 private:
  PgTestDatabase() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    name_ = "qetl_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    try {
      pqxx::connection c(admin_conninfo());
      pqxx::nontransaction w(c);
      w.exec("CREATE DATABASE " + w.quote_name(name_));
    } catch (const std::exception& e) {
      std::cerr << "\nPostgreSQL tests need a server: run them as the README says (pg_virtualenv ctest).\n"
                << e.what() << "\n";
      std::abort();
    }
  }
  static std::string admin_conninfo() { return "dbname=postgres"; }

  std::string name_;
};

}  // namespace qetl::test
