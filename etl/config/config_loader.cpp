// load_config / parse_config: the file, the TOML syntax and the top-level keys. Each section
// is read by its own file (api_warehouse_config.cpp, project_config.cpp, window_config.cpp,
// matrix_config.cpp, checks_config.cpp, bi_config.cpp).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "config/config_sections.hpp"
#include "config/config_fingerprint.hpp"
#include "util/errors.hpp"

namespace qetl {
namespace {
using namespace config_detail;

const std::vector<std::string_view> kTopLevelKeys = {"snapshot_grain", "max_cells", "metrics_file", "api",
                                                     "warehouse",      "project",   "window",       "matrix",
                                                     "bi",             "checks"};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": cannot read config file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  return bytes.str();
}

}  // namespace

Config load_config(const std::string& path) { return parse_config(read_file(path), path); }

Config parse_config(const std::string& toml_text, const std::string& path_for_messages) {
  const Scope scope(path_for_messages);
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text), std::string_view(path_for_messages));
  } catch (const toml::parse_error& e) {
    throw ConfigError(path_for_messages + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }

  Config config;
  config.path = path_for_messages;
  reject_unknown_keys(scope, root, "", kTopLevelKeys);

  if (const toml::node* node = root.get("snapshot_grain")) {
    const std::string grain = expect_string(scope, *node, "snapshot_grain");
    if (grain == "day") {
      config.snapshot_grain = SnapshotGrain::day;
    } else if (grain == "hour") {
      config.snapshot_grain = SnapshotGrain::hour;
    } else {
      fail(scope.at(*node, "snapshot_grain"), "must be \"day\" or \"hour\", got " + in_quotes(grain));
    }
  }
  config.max_cells_where = scope.at_line(1, "max_cells");
  if (const toml::node* node = root.get("max_cells")) {
    // A million cells is over three weeks at the API's 30 requests a minute.
    config.max_cells = expect_integer_in(scope, *node, "max_cells", 1, 1000000);
    config.max_cells_where = scope.at(*node, "max_cells");
  }
  if (const toml::node* node = root.get("metrics_file")) {
    config.metrics_file = expect_text(scope, *node, "metrics_file");
  }
  if (const toml::node* node = root.get("api")) read_api(scope, *node, config.api);
  config.warehouse.url_where = scope.at_line(1, "warehouse.url");
  if (const toml::node* node = root.get("warehouse")) read_warehouse(scope, *node, config.warehouse);

  const toml::node* projects = root.get("project");
  if (projects == nullptr) fail(scope.at_line(1, "project"), "at least one [[project]] is required");
  config.projects = read_projects(scope, *projects);
  const toml::node* windows = root.get("window");
  if (windows == nullptr) fail(scope.at_line(1, "window"), "at least one [[window]] is required");
  config.windows = read_windows(scope, *windows);

  if (const toml::node* node = root.get("matrix")) read_matrix(scope, *node, config);
  if (const toml::node* node = root.get("bi")) config.bi = read_bi(scope, *node);
  config.checks.where = scope.at_line(1, "checks");
  if (const toml::node* node = root.get("checks")) config.checks = read_checks(scope, *node);
  config.sha256 = config_sha256(config);
  return config;
}

}  // namespace qetl
