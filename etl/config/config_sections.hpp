#pragma once
// One reader per config section; each validates every key of its section and throws
// ConfigError("file:line:key: ...") on the first problem. Private to the config module.
#include <vector>

#include "config/http_url.hpp"
#include "config/toml_access.hpp"

namespace qetl::config_detail {

void read_api(const Scope& scope, const toml::node& node, ApiConfig& api);
void read_warehouse(const Scope& scope, const toml::node& node, WarehouseConfig& warehouse);
std::vector<ProjectConfig> read_projects(const Scope& scope, const toml::node& node);
std::vector<WindowConfig> read_windows(const Scope& scope, const toml::node& node);
// Fills config.matrix, config.excludes and config.includes.
void read_matrix(const Scope& scope, const toml::node& node, Config& config);
BiConfig read_bi(const Scope& scope, const toml::node& node);
// { env = "NAME" } | { file = "/path" } | { credential = "name" } (project_config.cpp).
SecretSource read_secret_source(const Scope& scope, const toml::node& node, const std::string& key);
// [checks] (checks_config.cpp).
ChecksConfig read_checks(const Scope& scope, const toml::node& node);
// A URL the job appends paths to, checked by http_url_problem, without trailing '/'
// (api_warehouse_config.cpp). `secret` names what travels with it ("API key").
std::string read_base_url(const Scope& scope, const toml::node& node, const std::string& key, PlainHttp plain_http,
                          const std::string& secret);

}  // namespace qetl::config_detail
