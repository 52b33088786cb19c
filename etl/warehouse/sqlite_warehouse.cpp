#include "warehouse/sqlite_warehouse.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "util/errors.hpp"
#include "util/log.hpp"
#include "warehouse/error_text.hpp"
#include "warehouse/metrics_columns.hpp"
#include "warehouse/migrations.hpp"
#include "warehouse/run_lock_text.hpp"

namespace qetl {
namespace {

constexpr int kBusyTimeoutMs = 10'000;

std::string placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s;
}

void bind_optional(SQLite::Statement& s, int index, const std::optional<std::string>& value) {
  if (value) {
    s.bind(index, *value);
  } else {
    s.bind(index);
  }
}

// A file name part for a project name or shard: letters, digits, '.', '_' and '-' as they are,
// every other byte as %XX ("1/2" -> "1%2F2"), so distinct names give distinct files.
std::string file_name_part(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

// The holder's details as written into a lock file: one "key=value" line each.
std::string holder_text(const LockHolder& h) {
  return "host=" + h.host + "\npid=" + std::to_string(h.pid) + "\nstarted_at=" + std::to_string(h.started_at) + "\n";
}

std::optional<LockHolder> parse_holder(const std::string& text) {
  LockHolder h;
  bool host = false, pid = false, started = false;
  std::istringstream lines(text);
  std::string line;
  try {
    while (std::getline(lines, line)) {
      const std::size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "host") { h.host = value; host = true; }
      if (key == "pid") { h.pid = std::stoll(value); pid = true; }
      if (key == "started_at") { h.started_at = std::stoll(value); started = true; }
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!host || !pid || !started) return std::nullopt;  // the holder is between flock and write
  return h;
}

// Holds flock()s on lock files; the kernel drops them when the descriptors close, which it
// also does when the process dies. The files stay (deleting a lock file races with a run
// that has just opened it); release empties them first so that no stale holder is read.
class FileRunLock final : public RunLock {
 public:
  FileRunLock() = default;
  FileRunLock(const FileRunLock&) = delete;
  FileRunLock& operator=(const FileRunLock&) = delete;
  ~FileRunLock() override {
    for (const int fd : fds_) {
      const int rc = ::ftruncate(fd, 0);  // failing only leaves details a next holder overwrites
      (void)rc;
      ::close(fd);
    }
  }
  void add(int fd) { fds_.push_back(fd); }

 private:
  std::vector<int> fds_;
};

class SqliteWarehouse final : public Warehouse {
 public:
  SqliteWarehouse(std::string path, WarehouseAccess access)
      : path_(std::move(path)), db_(access == WarehouseAccess::inspect ? inspect_database(path_) : open_database(path_)) {}

  std::string backend() const override { return "sqlite"; }

  int schema_version() override {
    return guarded("reading the schema version", [&] { return version_in_database(); });
  }

  int latest_schema_version() const override { return latest_version(sqlite_migrations()); }

  int migrate() override {
    return guarded("migrating the schema", [&] {
      int applied = 0;
      for (;;) {
        // IMMEDIATE takes the write lock before reading the version, so a second process
        // migrating at the same time waits (busy timeout) and then finds nothing left to do.
        SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
        const int current = version_in_database();
        refuse_newer_schema(current, latest_schema_version());
        const Migration* next = next_migration(sqlite_migrations(), current);
        if (next == nullptr) break;  // the transaction rolls back: nothing was written
        db_.exec(next->sql);
        SQLite::Statement record(db_, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
        record.bind(1, next->version);
        record.bind(2, next->name);
        record.exec();
        tx.commit();
        ++applied;
        log::info("applied warehouse migration",
                  {{"backend", "sqlite"}, {"version", std::to_string(next->version)}, {"name", next->name}});
      }
      return applied;
    });
  }

  void start_run(const RunRecord& run) override {
    guarded("recording the start of the run", [&] {
      SQLite::Statement s(db_,
                          "INSERT INTO etl_runs (run_id, started_at, finished_at, snapshot_at, status, cells_planned, "
                          "cells_succeeded, cells_failed, rows_upserted, requests_sent, version, config_sha256, host, "
                          "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      s.bind(1, run.run_id);
      bind_run_fields(s, run, 2);
      s.exec();
    });
  }

  void finish_run(const RunRecord& run) override {
    guarded("recording the end of the run", [&] {
      SQLite::Statement s(db_,
                          "UPDATE etl_runs SET started_at = ?, finished_at = ?, snapshot_at = ?, status = ?, "
                          "cells_planned = ?, cells_succeeded = ?, cells_failed = ?, rows_upserted = ?, "
                          "requests_sent = ?, version = ?, config_sha256 = ?, host = ?, message = ?, retries = ?, "
                          "responses_429 = ? WHERE run_id = ?");
      bind_run_fields(s, run, 1);
      s.bind(14, run.retries);
      s.bind(15, run.responses_429);
      s.bind(16, run.run_id);
      if (s.exec() == 0) throw WarehouseError("no etl_runs row with run_id '" + run.run_id + "' to finish");
    });
  }

  UpsertResult upsert_metrics(const std::vector<MetricsRow>& rows) override {
    if (rows.empty()) return {};
    return guarded("upserting customer_metrics", [&] {
      const auto unique = last_row_per_key(rows);
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement s(db_, upsert_sql());
      for (const MetricsRow* row : unique) {
        bind_metrics_row(s, *row);
        s.exec();
        s.reset();
      }
      tx.commit();
      return UpsertResult{unique.size(), {}};
    });
  }

  void record_failures(const std::vector<CellFailure>& failures) override {
    if (failures.empty()) return;
    guarded("recording cell failures", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement s(db_,
                          "INSERT INTO etl_cell_failures (run_id, project, environment, window_name, window_from, "
                          "segment, attempts, last_http_status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT (run_id, project, environment, window_name, window_from, segment) DO UPDATE "
                          "SET attempts = excluded.attempts, last_http_status = excluded.last_http_status, "
                          "error = excluded.error");
      for (const auto& f : failures) {
        s.bind(1, f.run_id);
        s.bind(2, f.project);
        s.bind(3, f.environment);
        s.bind(4, f.window_name);
        s.bind(5, format_sql_timestamp(f.window_from));
        s.bind(6, f.segment);
        s.bind(7, f.attempts);
        if (f.last_http_status) {
          s.bind(8, *f.last_http_status);
        } else {
          s.bind(8);
        }
        s.bind(9, f.error);
        s.exec();
        s.reset();
      }
      tx.commit();
    });
  }

  std::set<CellKey> stored_cells(UnixSeconds snapshot_at) override {
    return guarded("reading the stored cells", [&] {
      SQLite::Statement s(db_,
                          "SELECT project, environment, window_name, window_from, segment FROM customer_metrics "
                          "WHERE snapshot_at = ?");
      s.bind(1, format_sql_timestamp(snapshot_at));
      std::set<CellKey> cells;
      while (s.executeStep()) {
        CellKey key;
        key.project = s.getColumn(0).getString();
        key.environment = s.getColumn(1).getInt();
        key.window_name = s.getColumn(2).getString();
        key.window_from = parse_utc_timestamp(s.getColumn(3).getString());
        key.segment = s.getColumn(4).getString();
        cells.insert(std::move(key));
      }
      return cells;
    });
  }

  std::vector<std::string> close_stale_runs(const RunRecord&) override { return {}; }

  void visit_snapshot_rows(UnixSeconds, const std::vector<std::string>&,
                           const std::function<void(const MetricsRow&)>&) override {
    throw WarehouseError("visit_snapshot_rows: not implemented yet");
  }
  void visit_previous_rows(UnixSeconds, const std::vector<std::string>&,
                           const std::function<void(const MetricsRow&)>&) override {
    throw WarehouseError("visit_previous_rows: not implemented yet");
  }
  void replace_findings(UnixSeconds, const std::vector<std::string>&, const std::string&,
                        const std::vector<DataCheckFinding>&) override {
    throw WarehouseError("replace_findings: not implemented yet");
  }

  void rebuild_derived() override {
    guarded("rebuilding the trend views' tables", [&] {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      if (has_statements(sqlite_rebuild_sql())) db_.exec(sqlite_rebuild_sql());
      tx.commit();
    });
  }

  std::unique_ptr<RunLock> try_lock_run(const std::vector<std::string>& projects, const std::string& shard,
                                        const LockHolder& me) override {
    auto lock = std::make_unique<FileRunLock>();  // releases what was taken if we throw
    for (const std::string& project : lock_order(projects)) {
      const std::string file = path_ + ".run-lock." + file_name_part(shard) + "." + file_name_part(project);
      const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) throw WarehouseError("cannot open the run lock file " + file + ": " + std::strerror(errno));
      // flock, not fcntl: its locks belong to the open file, so two opens conflict even within
      // one process, and closing another descriptor of the file does not drop them.
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string text = read_all(fd);
        ::close(fd);
        if (err == EWOULDBLOCK) throw LockedError(locked_message(project, shard, parse_holder(text)));
        throw WarehouseError("cannot lock the run lock file " + file + ": " + std::strerror(err));
      }
      lock->add(fd);
      const std::string text = holder_text(me);
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        throw WarehouseError("cannot write the run lock file " + file + ": " + std::strerror(errno));
      }
    }
    return lock;
  }

 private:
  static std::string read_all(int fd) {
    std::string text;
    char buf[512];
    off_t at = 0;
    for (;;) {
      const ssize_t n = ::pread(fd, buf, sizeof buf, at);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      at += n;
    }
    return text;
  }

  // For --dry-run: the file as it is, or an empty in-memory database when there is none yet.
  static SQLite::Database inspect_database(const std::string& path) {
    try {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) return SQLite::Database(":memory:", SQLite::OPEN_READWRITE);
      return SQLite::Database(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    } catch (const std::exception& e) {
      throw WarehouseError("cannot open SQLite warehouse " + path + ": " + one_line(e.what()));
    }
  }

  static SQLite::Database open_database(const std::string& path) {
    try {
      const std::filesystem::path parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
      // WAL: readers (BI tools) do not block the nightly writer and vice versa.
      SQLite::Statement wal(db, "PRAGMA journal_mode = WAL");
      if (wal.executeStep() && wal.getColumn(0).getString() != "wal") {
        log::warning("SQLite warehouse is not in WAL mode (readers may block the writer)",
                     {{"path", path}, {"journal_mode", wal.getColumn(0).getString()}});
      }
      return db;
    } catch (const std::exception& e) {
      throw WarehouseError("cannot open SQLite warehouse " + path + ": " + one_line(e.what()));
    }
  }

  template <class F>
  auto guarded(const char* action, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const EtlError&) {
      throw;
    } catch (const std::exception& e) {
      throw WarehouseError("SQLite warehouse " + path_ + ": " + action + " failed: " + one_line(e.what()));
    }
  }

  int version_in_database() {
    SQLite::Statement exists(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
    if (!exists.executeStep()) return 0;
    SQLite::Statement q(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    q.executeStep();
    return q.getColumn(0).getInt();
  }

  // Binds every etl_runs column but run_id, starting at parameter `first`.
  static void bind_run_fields(SQLite::Statement& s, const RunRecord& run, int first) {
    int i = first;
    s.bind(i++, format_sql_timestamp(run.started_at));
    bind_optional(s, i++, run.finished_at ? std::optional<std::string>(format_sql_timestamp(*run.finished_at))
                                          : std::nullopt);
    s.bind(i++, format_sql_timestamp(run.snapshot_at));
    s.bind(i++, run.status);
    s.bind(i++, run.cells_planned);
    s.bind(i++, run.cells_succeeded);
    s.bind(i++, run.cells_failed);
    s.bind(i++, run.rows_upserted);
    s.bind(i++, run.requests_sent);
    s.bind(i++, run.version);
    s.bind(i++, run.config_sha256);
    s.bind(i++, run.host);
    s.bind(i++, run.message);
  }

  static const std::string& upsert_sql() {
    static const std::string sql = "INSERT INTO customer_metrics (" + join_columns(metrics_columns()) + ") VALUES (" +
                                   placeholders(metrics_columns().size()) + ") ON CONFLICT (" +
                                   join_columns(metrics_key_columns()) + ") DO UPDATE SET " +
                                   [] {
                                     std::string set;
                                     for (const auto& c : metrics_update_columns()) {
                                       if (!set.empty()) set += ", ";
                                       set += c + " = excluded." + c;
                                     }
                                     return set;
                                   }();
    return sql;
  }

  // Binds in metrics_columns() order. The decimals go in as text: NUMERIC affinity stores them
  // as INTEGER or REAL (SQLite has no exact decimal type; PostgreSQL keeps them exactly).
  static void bind_metrics_row(SQLite::Statement& s, const MetricsRow& r) {
    int i = 1;
    s.bind(i++, format_sql_timestamp(r.snapshot_at));
    s.bind(i++, r.project);
    s.bind(i++, r.environment);
    s.bind(i++, r.window_name);
    s.bind(i++, r.window_kind);
    s.bind(i++, format_sql_timestamp(r.window_from));
    s.bind(i++, format_sql_timestamp(r.window_to));
    s.bind(i++, r.segment);
    for (const auto& d : r.dimensions) bind_optional(s, i++, d);
    const Metrics& m = r.metrics;
    s.bind(i++, m.clients_with_event);
    s.bind(i++, m.active_subscribers);
    s.bind(i++, m.active_trials);
    s.bind(i++, m.billing_retry);
    s.bind(i++, m.churned_subscribers);
    s.bind(i++, m.canceled_trials);
    s.bind(i++, m.avg_payment_count);
    s.bind(i++, m.avg_price);
    s.bind(i++, m.sales);
    s.bind(i++, format_sql_timestamp(r.fetched_at));
    s.bind(i++, r.run_id);
  }

  std::string path_;
  SQLite::Database db_;
};

}  // namespace

std::string sqlite_path_from_url(const std::string& url) {
  constexpr std::string_view kScheme = "sqlite:";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    throw ConfigError("not a sqlite: URL: " + url);
  }
  std::string rest = url.substr(kScheme.size());
  if (rest.compare(0, 2, "//") == 0) {
    if (rest.size() < 3 || rest[2] != '/') {
      throw ConfigError("ambiguous SQLite URL '" + url +
                        "': use sqlite:///absolute/path.sqlite or sqlite:relative/path.sqlite");
    }
    rest = rest.substr(2);  // keep the path's leading '/'
  }
  if (rest.empty()) {
    throw ConfigError("SQLite URL '" + url + "' names no file: use sqlite:///absolute/path.sqlite");
  }
  return rest;
}

std::unique_ptr<Warehouse> open_sqlite_warehouse(const std::string& url, WarehouseAccess access) {
  return std::make_unique<SqliteWarehouse>(sqlite_path_from_url(url), access);
}

}  // namespace qetl
