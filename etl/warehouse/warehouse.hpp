#pragma once
// One interface for both warehouses; the backend is chosen by the URL scheme in
// open_warehouse(). SQLite and libpqxx are confined to their own .cpp files.
#include <array>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "model/dimensions.hpp"
#include "model/metrics.hpp"
#include "util/errors.hpp"
#include "util/time.hpp"

namespace qetl {

// One customer_metrics row. Unique key: (project, environment, snapshot_at, window_name,
// window_from, segment).
struct MetricsRow {
  UnixSeconds snapshot_at = 0;
  std::string project;
  int environment = 1;
  std::string window_name;
  std::string window_kind;  // fixed | rolling | cohort
  UnixSeconds window_from = 0;
  UnixSeconds window_to = 0;
  std::string segment;
  // Indexed like kDimensions: the value or group name filtered on; nullopt = not filtered.
  std::array<std::optional<std::string>, kDimensionCount> dimensions;
  Metrics metrics;
  UnixSeconds fetched_at = 0;
  std::string run_id;
};

// The identity of a cell inside one snapshot, as the resume logic compares it.
struct CellKey {
  std::string project;
  int environment = 1;
  std::string window_name;
  UnixSeconds window_from = 0;
  std::string segment;
  bool operator<(const CellKey& o) const {
    return std::tie(project, environment, window_name, window_from, segment) <
           std::tie(o.project, o.environment, o.window_name, o.window_from, o.segment);
  }
};

// One etl_runs row.
struct RunRecord {
  std::string run_id;
  UnixSeconds started_at = 0;
  std::optional<UnixSeconds> finished_at;
  UnixSeconds snapshot_at = 0;
  std::string status = "running";  // running | succeeded | partial | failed | interrupted
  std::int64_t cells_planned = 0;
  std::int64_t cells_succeeded = 0;
  std::int64_t cells_failed = 0;
  std::int64_t rows_upserted = 0;
  std::int64_t requests_sent = 0;
  std::int64_t retries = 0;        // requests that repeated an earlier attempt
  std::int64_t responses_429 = 0;  // rate-limited answers
  std::string version;
  std::string config_sha256;
  std::string host;
  std::string message;
  std::int64_t data_check_findings = 0;  // findings recorded for the snapshot after the run
  // The run's scope (SPEC "Warehouse tables", stale runs): the projects it loads and its shard
  // ("K/N" or "all"). Stored as etl_runs.projects (JSON array) and etl_runs.shard.
  std::vector<std::string> projects;
  std::string shard = "all";
};

// A row of a batch the warehouse refused (a value it cannot store): the rest of the batch is
// committed all the same, and the runner records the cell as failed with this reason.
struct RefusedRow {
  std::size_t index = 0;  // into the rows passed to upsert_metrics
  std::string reason;     // the database's reason, one line, secrets masked
};

// What one upsert_metrics call committed.
struct UpsertResult {
  std::size_t rows_written = 0;  // committed (inserted or updated)
  std::vector<RefusedRow> refused;
};

// One etl_data_checks row (SPEC "Data checks"): a finding about one cell of one snapshot.
struct DataCheckFinding {
  std::string run_id;
  UnixSeconds snapshot_at = 0;
  std::string project;
  int environment = 1;
  std::string window_name;
  UnixSeconds window_from = 0;
  std::string segment;
  std::string check_name;  // subset_exceeds_superset | empty_after_nonempty | count_decreased | large_change
  std::string severity;    // warning | error
  std::string metric;      // a customer_metrics column, e.g. active_subscribers
  std::optional<double> observed;
  std::optional<double> expected;
  std::string message;
};

// One etl_cell_failures row: a cell that failed for good in a run.
struct CellFailure {
  std::string run_id;
  std::string project;
  int environment = 1;
  std::string window_name;
  UnixSeconds window_from = 0;
  std::string segment;
  int attempts = 0;
  std::optional<int> last_http_status;
  std::string error;
};

// Who holds a run lock: what a refused run prints so an operator can find the other one.
struct LockHolder {
  std::string host;
  std::int64_t pid = 0;        // the job's process id on `host` (not a PostgreSQL backend pid)
  UnixSeconds started_at = 0;  // when that run started
};

// This process as a lock holder: gethostname(), getpid() and `started_at`.
LockHolder this_process_holder(UnixSeconds started_at);

// Another run holds a lock try_lock_run() wanted (SPEC "Exit codes": 75). The message names the
// holder: another run holds the lock for project "alpha" (host h1, pid 1234, started
// 2026-11-24T03:00:00Z).
struct LockedError : EtlError {
  explicit LockedError(const std::string& m) : EtlError(ExitCode::locked, m) {}
};

// The locks of one run, held until this object is destroyed. It must not outlive the Warehouse
// that made it (on PostgreSQL the locks live on that warehouse's connection).
class RunLock {
 public:
  virtual ~RunLock() = default;
};

class Warehouse {
 public:
  virtual ~Warehouse() = default;

  // "sqlite" or "postgresql".
  virtual std::string backend() const = 0;
  // The newest migration version recorded in schema_migrations; 0 for an empty database.
  virtual int schema_version() = 0;
  // The newest migration version embedded in this binary.
  virtual int latest_schema_version() const = 0;
  // Applies every pending migration, each in its own transaction; returns how many ran.
  // Throws WarehouseError when the database is newer than this binary.
  virtual int migrate() = 0;

  virtual void start_run(const RunRecord& run) = 0;   // inserts the etl_runs row
  virtual void finish_run(const RunRecord& run) = 0;  // updates it by run_id

  // Upserts the rows and commits them. A row the database refuses for its data (a value it
  // cannot store: SQLSTATE classes 22/23; SQLite constraint, too big, mismatch) does not take
  // the others down: it is left out and reported in `refused`.
  // Anything else (connection, statement_timeout, lock timeout, SQLITE_BUSY) throws
  // WarehouseError and commits nothing of this call.
  virtual UpsertResult upsert_metrics(const std::vector<MetricsRow>& rows) = 0;
  // Records failed cells; a failure row refused for its data is stored with its error text
  // replaced by the database's reason, never lost and never taking the others down.
  virtual void record_failures(const std::vector<CellFailure>& failures) = 0;

  // Marks `running` etl_runs rows whose scope overlaps `finder`'s (a project in common and
  // shards that can share a cell, see warehouse/shard_overlap.hpp) `interrupted`, with
  // finished_at and a message naming finder.run_id; the caller holds the locks of that scope,
  // so their process is gone. Returns their run_ids. `finder` itself is never touched, nor a
  // row whose scope is unknown (projects '[]': written before the scope was recorded).
  virtual std::vector<std::string> close_stale_runs(const RunRecord& finder) = 0;

  // The data checks' input (SPEC "Data checks"). Calls `visit` for every customer_metrics row of
  // `snapshot_at` of the given projects (all projects when empty).
  // The newest snapshot_at with a customer_metrics row of those projects (all when empty); none
  // in an empty warehouse. What `check` looks at when no --snapshot is given.
  virtual std::optional<UnixSeconds> latest_snapshot(const std::vector<std::string>& projects) = 0;
  virtual void visit_snapshot_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                   const std::function<void(const MetricsRow&)>& visit) = 0;
  // For every series with a row in `snapshot_at` (of those projects), its newest row before
  // `snapshot_at`, in one query. A series is (project, environment, window_name, segment), plus
  // window_from for cohort windows, as in the trend views.
  virtual void visit_previous_rows(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                   const std::function<void(const MetricsRow&)>& visit) = 0;
  // Replaces every etl_data_checks row of `snapshot_at` (of those projects) by `findings`, in
  // one transaction, and sets etl_runs.data_check_findings of `run_id` to their number when
  // such a run row exists.
  virtual void replace_findings(UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                const std::string& run_id, const std::vector<DataCheckFinding>& findings) = 0;

  // Brings every structure derived from customer_metrics (what keeps the trend views fast) up
  // to date from scratch (`migrate --rebuild`), in one transaction.
  virtual void rebuild_derived() = 0;

  // The cells that already have a customer_metrics row for this snapshot (for --resume).
  virtual std::set<CellKey> stored_cells(UnixSeconds snapshot_at) = 0;

  // One run at a time per cell (SPEC "Behaviour under faults"). Takes, without waiting, one
  // lock per (project, shard) for every name in `projects`, in sorted order, all or nothing;
  // `shard` is "K/N" or "all". Two runs that share a project conflict whenever their shards
  // overlap (shards_overlap: "all" with any shard, "1/2" with "1/3"), while "1/3", "2/3" and
  // "3/3" run side by side. Throws LockedError naming the holder (and keeps none of the others).
  // The locks die with the process or connection, so a killed run never leaves one behind:
  //   PostgreSQL: session advisory locks on this warehouse's connection, keyed by schema,
  //     shard and project; their holders are recorded in etl_run_locks (needs migrate() first)
  //     and inspected under a per-project transaction-level advisory lock.
  //   SQLite: flock() on files next to the database (<db>.run-lock.<shard>.<project>) that
  //     hold the holder's details, inspected under a flock on <db>.run-lock-mutex.<project>;
  //     not SQLite's own locks, which would block writers.
  virtual std::unique_ptr<RunLock> try_lock_run(const std::vector<std::string>& projects, const std::string& shard,
                                                const LockHolder& me) = 0;
};

// "sqlite:///abs/path.sqlite", "sqlite:relative/path.sqlite" -> SQLite (the file and its
// directory are created); "postgresql://..." / "postgres://..." or a libpq conninfo string
// ("host=... dbname=...") -> PostgreSQL, tables in `schema`. A URL warehouse_url_problem()
// refuses (an unknown scheme, sqlite::memory:, a target libpq cannot parse, ...) throws
// ConfigError with its text, before anything is created or connected to. A server that cannot
// be reached throws WarehouseError whose message has the password masked.
//
// WarehouseAccess::inspect is for `run --dry-run`: look, never write. PostgreSQL only reads
// until migrate() anyway; SQLite opens an existing file read-only, and a file that does not
// exist yet is not created (the warehouse then reads as empty, schema version 0).
enum class WarehouseAccess { read_write, inspect };
std::unique_ptr<Warehouse> open_warehouse(const std::string& url, const std::string& schema,
                                          WarehouseAccess access = WarehouseAccess::read_write);

}  // namespace qetl
