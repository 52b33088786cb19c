// [api] and [warehouse].
#include <cctype>
#include <cstdlib>

#include "config/config_sections.hpp"

namespace qetl::config_detail {
namespace {

bool is_identifier(std::string_view s) {
  const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (s.empty() || !letter(s[0])) return false;
  for (char c : s) {
    if (!(letter(c) || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

// http(s)://host[/path]: no spaces, query or fragment (the job appends its own path and query).
bool is_http_url(std::string_view url) {
  std::size_t rest = 0;
  if (url.rfind("https://", 0) == 0) {
    rest = 8;
  } else if (url.rfind("http://", 0) == 0) {
    rest = 7;
  } else {
    return false;
  }
  if (rest >= url.size() || url[rest] == '/') return false;
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) || c == '?' || c == '#') {
      return false;
    }
  }
  return true;
}

void read_api(const Scope& scope, const toml::node& node, ApiConfig& api) {
  const toml::table& table = expect_table(scope, node, "api");
  reject_unknown_keys(scope, table, "api",
                      {"base_url", "concurrency", "requests_per_minute", "timeout_seconds", "max_attempts", "ca_file"});
  if (const toml::node* n = table.get("base_url")) {
    std::string url = expect_string(scope, *n, "api.base_url");
    if (!is_http_url(url)) {
      fail(scope.at(*n, "api.base_url"), in_quotes(url) + " is not an http:// or https:// URL without query or fragment");
    }
    while (url.back() == '/') url.pop_back();
    api.base_url = url;
  }
  if (const toml::node* n = table.get("concurrency")) {
    api.concurrency = static_cast<int>(expect_integer_in(scope, *n, "api.concurrency", 1, 256));
  }
  if (const toml::node* n = table.get("requests_per_minute")) {
    api.requests_per_minute = expect_positive_number(scope, *n, "api.requests_per_minute");
  }
  if (const toml::node* n = table.get("timeout_seconds")) {
    api.timeout_seconds = expect_positive_number(scope, *n, "api.timeout_seconds");
  }
  if (const toml::node* n = table.get("max_attempts")) {
    api.max_attempts = static_cast<int>(expect_integer_in(scope, *n, "api.max_attempts", 1, 100));
  }
  if (const toml::node* n = table.get("ca_file")) api.ca_file = expect_nonempty_string(scope, *n, "api.ca_file");
}

void read_warehouse(const Scope& scope, const toml::node& node, WarehouseConfig& warehouse) {
  const toml::table& table = expect_table(scope, node, "warehouse");
  reject_unknown_keys(scope, table, "warehouse", {"url", "schema"});
  // The URL's scheme is checked by the warehouse factory, which knows the backends.
  if (const toml::node* n = table.get("url")) warehouse.url = expect_nonempty_string(scope, *n, "warehouse.url");
  if (const toml::node* n = table.get("schema")) {
    const std::string schema = expect_string(scope, *n, "warehouse.schema");
    if (!is_identifier(schema)) {
      fail(scope.at(*n, "warehouse.schema"), in_quotes(schema) + " does not match ^[A-Za-z_][A-Za-z0-9_]*$");
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
