#pragma once
// The typed configuration. Every value remembers where it came from so that validation
// errors (and later errors about a value) can name file:line:key.
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

struct ApiConfig {
  std::string base_url = "https://api.qonversion.io/v1/analytics";
  int concurrency = 4;              // requests in flight at once, per project
  double requests_per_minute = 30;  // per project key
  double timeout_seconds = 30;      // whole request
  int max_attempts = 5;             // per cell, first try included
  double max_retry_wait_seconds = 300;  // cap on any one wait: backoff or Retry-After
  double give_up_after_seconds = 900;   // a project with no usable answer this long stops
  std::optional<std::string> ca_file;
};

// Where the warehouse is when the config does not say: metrics.sqlite in systemd's
// $STATE_DIRECTORY (StateDirectory=), else in /var/lib/qonversion-etl.
std::string default_warehouse_url();

struct WarehouseConfig {
  std::string url = default_warehouse_url();
  std::string schema = "qonversion";
};

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
  SourceLocation where;
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

struct Config {
  std::string path;  // the file it was read from
  SnapshotGrain snapshot_grain = SnapshotGrain::day;
  std::int64_t max_cells = 20000;
  std::optional<std::string> metrics_file;  // top-level metrics_file; --metrics-file overrides it
  ApiConfig api;
  WarehouseConfig warehouse;
  std::vector<ProjectConfig> projects;
  std::vector<WindowConfig> windows;
  std::vector<MatrixDimension> matrix;  // in kDimensions order, only the dimensions named
  std::vector<MatrixRule> excludes;
  std::vector<MatrixRule> includes;
  std::optional<BiConfig> bi;  // absent: no BI notification
  std::string sha256;  // of the file's bytes, stored in etl_runs
};

// Reads and validates the whole file. Throws ConfigError("file:line:key: what is wrong")
// on the first problem found; nothing is read from the network or the warehouse.
Config load_config(const std::string& path);
Config parse_config(const std::string& toml_text, const std::string& path_for_messages);

// Reads the API key from its source (environment variable, file, or
// $CREDENTIALS_DIRECTORY/<name>), trimming surrounding whitespace. Throws ConfigError naming
// the source (never the key) when it is missing, empty or not a plausible key.
std::string resolve_secret(const SecretSource& source);

}  // namespace qetl
