// [api] and [warehouse].
#include <cerrno>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/config_sections.hpp"
#include "config/http_url.hpp"

namespace qetl::config_detail {
namespace {

// PostgreSQL cuts longer identifiers to this many bytes (NAMEDATALEN - 1).
constexpr std::size_t kMaxIdentifierBytes = 63;

bool is_identifier(std::string_view s) {
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (s.empty() || !letter(s[0])) return false;
  for (char c : s) {
    if (!(letter(c) || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// pg_* (pg_temp, pg_toast, pg_catalog...) and information_schema belong to PostgreSQL; an
// unquoted name folds to lower case, so PG_TEMP is pg_temp.
bool is_system_schema(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.rfind("pg_", 0) == 0 || name == "information_schema";
}

// libcurl reads ca_file only when the first request is made, after the warehouse was opened
// and a run recorded: a typo must fail here instead.
void check_readable(const Scope& scope, const toml::node& node, const std::string& key, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(scope.at(node, key), "cannot read " + path + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(scope.at(node, key), "cannot read " + path + ": " + std::strerror(errno));
  char byte = 0;
  in.read(&byte, 1);
  if (in.bad()) fail(scope.at(node, key), "cannot read " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string read_base_url(const Scope& scope, const toml::node& node, const std::string& key, PlainHttp plain_http,
                          const std::string& secret) {
  std::string url = expect_string(scope, node, key);
  const std::string problem = http_url_problem(url, plain_http, secret);
  if (!problem.empty()) fail(scope.at(node, key), problem);
  while (!url.empty() && url.back() == '/') url.pop_back();  // the job appends "/..."
  return url;
}

void read_api(const Scope& scope, const toml::node& node, ApiConfig& api) {
  const toml::table& table = expect_table(scope, node, "api");
  reject_unknown_keys(scope, table, "api",
                      {"base_url", "concurrency", "requests_per_minute", "timeout_seconds", "max_attempts",
                       "max_retry_wait_seconds", "give_up_after_seconds", "ca_file"});
  if (const toml::node* n = table.get("base_url")) {
    api.base_url = read_base_url(scope, *n, "api.base_url", PlainHttp::loopback_only, "API key");
  }
  if (const toml::node* n = table.get("concurrency")) {
    api.concurrency = static_cast<int>(expect_integer_in(scope, *n, "api.concurrency", 1, 256));
  }
  if (const toml::node* n = table.get("requests_per_minute")) {
    // Up to 100,000 a second: no server allows more, and the interval stays far above a nanosecond.
    api.requests_per_minute = expect_number_in(scope, *n, "api.requests_per_minute", 0.1, 6e6);
  }
  if (const toml::node* n = table.get("timeout_seconds")) {
    api.timeout_seconds = expect_number_in(scope, *n, "api.timeout_seconds", 1, 3600);
  }
  if (const toml::node* n = table.get("max_attempts")) {
    api.max_attempts = static_cast<int>(expect_integer_in(scope, *n, "api.max_attempts", 1, 100));
  }
  if (const toml::node* n = table.get("max_retry_wait_seconds")) {
    api.max_retry_wait_seconds = expect_number_in(scope, *n, "api.max_retry_wait_seconds", 1, 86400);
  }
  if (const toml::node* n = table.get("give_up_after_seconds")) {
    api.give_up_after_seconds = expect_number_in(scope, *n, "api.give_up_after_seconds", 1, 86400);
  }
  if (const toml::node* n = table.get("ca_file")) {
    api.ca_file = expect_text(scope, *n, "api.ca_file");
    check_readable(scope, *n, "api.ca_file", *api.ca_file);
  }
}

void read_warehouse(const Scope& scope, const toml::node& node, WarehouseConfig& warehouse) {
  const toml::table& table = expect_table(scope, node, "warehouse");
  reject_unknown_keys(scope, table, "warehouse", {"url", "schema"});
  // The URL itself is checked by the warehouse module, which knows the backends; it names
  // url_where when it refuses one.
  warehouse.url_where = scope.at(node, "warehouse.url");
  if (const toml::node* n = table.get("url")) {
    warehouse.url = expect_nonempty_string(scope, *n, "warehouse.url");
    warehouse.url_where = scope.at(*n, "warehouse.url");
  }
  if (const toml::node* n = table.get("schema")) {
    const std::string schema = expect_string(scope, *n, "warehouse.schema");
    if (!is_identifier(schema)) {
      fail(scope.at(*n, "warehouse.schema"), in_quotes(schema) + " does not match ^[A-Za-z_][A-Za-z0-9_]*$");
    }
    if (schema.size() > kMaxIdentifierBytes) {
      fail(scope.at(*n, "warehouse.schema"), "is " + std::to_string(schema.size()) + " bytes long, PostgreSQL names hold at most " +
                                                 std::to_string(kMaxIdentifierBytes) + " (a longer one is cut short)");
    }
    if (is_system_schema(schema)) {
      fail(scope.at(*n, "warehouse.schema"),
           in_quotes(schema) + " is a PostgreSQL system schema (pg_* and information_schema are reserved): choose another name");
    }
    warehouse.schema = schema;
  }
}

}  // namespace qetl::config_detail

namespace qetl {

std::string default_warehouse_url() {
  // systemd sets STATE_DIRECTORY to the StateDirectory= path(s), separated by ':' when several.
  const char* state = std::getenv("STATE_DIRECTORY");
  std::string dir = state != nullptr ? std::string(state) : std::string();
  dir = dir.substr(0, dir.find(':'));
  if (dir.empty()) dir = "/var/lib/qonversion-etl";
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return "sqlite://" + dir + "/metrics.sqlite";
}

}  // namespace qetl
