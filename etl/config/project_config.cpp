// [[project]]: name, api_key source, environments.
#include <algorithm>

#include "config/config_sections.hpp"

namespace qetl::config_detail {
namespace {

bool is_env_name(std::string_view s) {
  const auto word = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), word);
}

}  // namespace

SecretSource read_secret_source(const Scope& scope, const toml::node& node, const std::string& key) {
  const toml::table* table = node.as_table();
  const std::string leaf = key.substr(key.rfind('.') + 1);  // api_key, metabase_api_key
  if (table == nullptr) {
    // Never echo the value: it may well be the key itself.
    fail(scope.at(node, key),
         "must say where the key is read from, not hold it: use " + leaf + " = { env = \"VARIABLE\" }, "
         "{ file = \"/path/to/key\" } or { credential = \"name\" } so the key never lives in the config text");
  }
  reject_unknown_keys(scope, *table, key, {"env", "file", "credential"});
  const auto entries = entries_in_file_order(*table);
  if (entries.empty()) fail(scope.at(node, key), "needs one of env, file or credential");
  if (entries.size() > 1) {
    fail(scope.at(*entries[1].first, join_key(key, entries[1].first->str())),
         "give only one of env, file or credential (" + std::string(entries[0].first->str()) + " is also set)");
  }
  const std::string kind = std::string(entries[0].first->str());
  const std::string path = join_key(key, kind);
  SecretSource source;
  source.name = expect_text(scope, *entries[0].second, path);
  source.where = scope.at(node, key);
  if (kind == "env") {
    source.kind = SecretSource::Kind::env;
    if (!is_env_name(source.name)) {
      fail(scope.at(*entries[0].second, path), in_quotes(source.name) + " is not an environment variable name");
    }
  } else if (kind == "file") {
    source.kind = SecretSource::Kind::file;
  } else {
    source.kind = SecretSource::Kind::credential;
    if (source.name.find('/') != std::string::npos || source.name == "." || source.name == "..") {
      fail(scope.at(*entries[0].second, path), in_quotes(source.name) + " is not a credential name (a file name without '/')");
    }
  }
  return source;
}

namespace {

std::vector<int> read_environments(const Scope& scope, const toml::node& node, const std::string& key) {
  const toml::array& array = expect_array(scope, node, key);
  if (array.empty()) fail(scope.at(node, key), "must not be empty (0 = sandbox, 1 = production)");
  std::vector<int> environments;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    const std::string element_key = index_key(key, i);
    const std::int64_t env = expect_integer(scope, element, element_key);
    if (env != 0 && env != 1) {
      fail(scope.at(element, element_key), "must be 0 (sandbox) or 1 (production), got " + std::to_string(env));
    }
    if (std::find(environments.begin(), environments.end(), env) != environments.end()) {
      fail(scope.at(element, element_key), "duplicate environment " + std::to_string(env));
    }
    environments.push_back(static_cast<int>(env));
  }
  return environments;
}

}  // namespace

std::vector<ProjectConfig> read_projects(const Scope& scope, const toml::node& node) {
  const toml::array& array = expect_array_of_tables(scope, node, "project");
  if (array.empty()) fail(scope.at(node, "project"), "at least one [[project]] is required");
  std::vector<ProjectConfig> projects;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array.get(i)->as_table();
    const std::string prefix = index_key("project", i);
    reject_unknown_keys(scope, table, prefix, {"name", "api_key", "environments"});
    ProjectConfig project;
    project.where = scope.at(table, prefix);

    const toml::node* name = table.get("name");
    if (name == nullptr) fail(scope.at(table, join_key(prefix, "name")), "missing required key");
    project.name = expect_name(scope, *name, join_key(prefix, "name"));
    for (const ProjectConfig& earlier : projects) {
      if (earlier.name == project.name) {
        fail(scope.at(*name, join_key(prefix, "name")),
             "duplicate project name " + in_quotes(project.name) + " (also at line " + std::to_string(earlier.where.line) + ")");
      }
    }

    const toml::node* api_key = table.get("api_key");
    if (api_key == nullptr) fail(scope.at(table, join_key(prefix, "api_key")), "missing required key");
    project.api_key = read_secret_source(scope, *api_key, join_key(prefix, "api_key"));

    if (const toml::node* envs = table.get("environments")) {
      project.environments = read_environments(scope, *envs, join_key(prefix, "environments"));
    }
    projects.push_back(std::move(project));
  }
  return projects;
}

}  // namespace qetl::config_detail
