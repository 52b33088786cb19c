#pragma once
// The typed configuration. Every value remembers where it came from so that validation
// errors (and later errors about a value) can name file:line:key.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace qetl {

struct SourceLocation {
  std::string file;
  int line = 0;
  std::string key;  // dotted path, e.g. "project[1].environments" or "matrix.country"
  // "file:line:key"
  std::string str() const { return file + ":" + std::to_string(line) + ":" + key; }
};

enum class SnapshotGrain { day, hour };

// Where a secret is read from; the secret itself never appears in the config text.
struct SecretSource {
  enum class Kind { env, file, credential };
  Kind kind = Kind::env;
  std::string name;  // variable name, file path, or systemd credential name
  SourceLocation where;
  // What the secret is, for messages ("API key", "Metabase API key"), and which characters it
  // may hold: Qonversion keys are [A-Za-z0-9_-]; other tokens (Metabase's end in '=') any
  // printable ASCII except space.
  std::string what = "API key";
  bool strict_charset = true;
};

// The earliest time the job asks about or stores (2000-01-01T00:00:00Z): a snapshot, a fixed
// window's `from` and every window's start. Earlier times are typing mistakes (0001-01-01), and
// before the epoch they would be sent to the API as negative seconds.
inline constexpr UnixSeconds kEarliestTime = 946684800;

struct ApiConfig {
  std::string base_url = "https://api.qonversion.io/v1/analytics";
  int concurrency = 4;              // requests in flight at once, per project
  double requests_per_minute = 30;  // per API key
  double timeout_seconds = 30;      // whole request
  int max_attempts = 5;             // per cell, first try included
  // Cap on any one wait (backoff or the server's Retry-After): a server asking for a day must
  // not park the nightly job for a day.
  double max_retry_wait_seconds = 300;
  // A project whose requests got no usable answer for this long stops sending: a dead API
  // ends the run in minutes, not after every cell's last attempt.
  double give_up_after_seconds = 900;
  // Checked readable when the config is loaded, so a typo fails before the warehouse is touched.
  std::optional<std::string> ca_file;
};

// Where the warehouse is when the config does not say: metrics.sqlite in systemd's
// $STATE_DIRECTORY (StateDirectory=), else in /var/lib/qonversion-etl.
std::string default_warehouse_url();

struct WarehouseConfig {
  std::string url = default_warehouse_url();
  std::string schema = "qonversion";
  // Where `url` was written (or the [warehouse] table, or line 1, when it is the default), so
  // the warehouse module can name file:line:key when it refuses the URL.
  SourceLocation url_where;
};

// Project and window names are part of every row's primary key (with the segment, which
// matrix.hpp bounds): this keeps the key well inside PostgreSQL's index row limit.
inline constexpr std::size_t kMaxNameBytes = 200;

struct ProjectConfig {
  std::string name;
  SecretSource api_key;
  std::vector<int> environments{1};
  SourceLocation where;
};

enum class WindowKind { fixed, rolling, cohort };
enum class CalendarUnit { day, week, month };

struct WindowConfig {
  std::string name;
  WindowKind kind = WindowKind::fixed;
  UnixSeconds from = 0;              // fixed: [from, snapshot)
  std::int64_t last_seconds = 0;     // rolling: [snapshot - last, snapshot)
  CalendarUnit each = CalendarUnit::day;  // cohort: `count` calendar buckets before the snapshot
  int count = 0;
  SourceLocation where;         // the [[window]] table
  SourceLocation bounds_where;  // its from, last or each key: named when the window has no range
};

// One entry of a dimension's list: a single value ("US"), or a named group of values
// ({ name = "EU", values = [...] }) that is sent as several filter values and stored under
// its name.
struct DimensionValue {
  std::string label;                // the value itself, or the group's name
  std::vector<std::string> values;  // what is sent to the API
  bool is_group = false;
};

// One [matrix] key. An entry with no value (std::nullopt) is "*": no filter.
struct MatrixDimension {
  std::string dimension;  // one of kDimensions
  std::vector<std::optional<DimensionValue>> entries;
  SourceLocation where;
};

// One [[matrix.exclude]] or [[matrix.include]] table: dimension -> label ("*" = unfiltered).
struct MatrixRule {
  std::vector<std::pair<std::string, std::string>> fields;
  SourceLocation where;
};

// [bi]: after a run that stored rows, ask Metabase to rescan the warehouse's schema
// (POST {metabase_url}/api/notify/db/{metabase_database_id}, header X-METABASE-APIKEY).
struct BiConfig {
  std::string metabase_url;  // e.g. https://metabase.internal, without trailing '/'
  std::int64_t metabase_database_id = 0;
  SecretSource metabase_api_key;
  SourceLocation where;
};

// [checks]: when the data checks after a run turn findings into exit 65, and their thresholds.
enum class ChecksFailOn { never, error, warning };  // findings at or above this severity fail

struct ChecksConfig {
  ChecksFailOn fail_on = ChecksFailOn::never;
  double max_change = 0.5;      // large_change: relative move against the previous snapshot
  std::int64_t min_count = 100; // large_change: only from a previous value at least this
  double tolerance = 0.01;      // subset_exceeds_superset: allowed excess, share of the superset
  SourceLocation where;         // the [checks] table (line 1 when absent)
};

struct Config {
  std::string path;  // the file it was read from
  SnapshotGrain snapshot_grain = SnapshotGrain::day;
  std::int64_t max_cells = 20000;
  SourceLocation max_cells_where;  // named when the matrix expands to more cells
  std::optional<std::string> metrics_file;  // top-level metrics_file; --metrics-file overrides it
  ApiConfig api;
  WarehouseConfig warehouse;
  std::vector<ProjectConfig> projects;
  std::vector<WindowConfig> windows;
  std::vector<MatrixDimension> matrix;  // in kDimensions order, only the dimensions named
  std::vector<MatrixRule> excludes;
  std::vector<MatrixRule> includes;
  std::optional<BiConfig> bi;  // absent: no BI notification
  ChecksConfig checks;
  // SHA-256 of the parsed config's canonical text (config_fingerprint.hpp), stored in etl_runs:
  // the same for files that differ only in comments, layout, key order or secrets.
  std::string sha256;
};

// Reads and validates the whole file. Throws ConfigError("file:line:key: what is wrong")
// on the first problem found; nothing is read from the network or the warehouse.
Config load_config(const std::string& path);
Config parse_config(const std::string& toml_text, const std::string& path_for_messages);

// Shorter secrets are refused: no real key is this short, and masking a very short one would
// blank ordinary words in every message ("Proj****ct").
inline constexpr std::size_t kMinSecretLength = 16;

// Reads the API key from its source (environment variable, file, or
// $CREDENTIALS_DIRECTORY/<name>), trimming surrounding whitespace. Throws ConfigError naming
// the source (never the key) when it is missing, empty, shorter than kMinSecretLength or not a
// plausible key.
std::string resolve_secret(const SecretSource& source);

}  // namespace qetl
