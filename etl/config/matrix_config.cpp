// [matrix]: one list per dimension, and the [[matrix.exclude]] / [[matrix.include]] rules.
#include <algorithm>

#include "config/config_sections.hpp"
#include "config/dimension_values.hpp"
#include "model/dimensions.hpp"

namespace qetl::config_detail {
namespace {

constexpr std::string_view kAll = "*";

std::vector<std::string_view> matrix_keys() {
  std::vector<std::string_view> keys(kDimensions.begin(), kDimensions.end());
  keys.push_back("exclude");
  keys.push_back("include");
  return keys;
}

// A filter value as written: a string, or for status also an integer (status = [1, 2]).
// Not yet validated: "*" and group names are not values.
std::string read_raw_value(const Scope& scope, const toml::node& node, std::string_view dimension, const std::string& key) {
  if (const auto* s = node.as_string()) return s->get();
  if (dimension == "status" && node.is_integer()) return std::to_string(node.as_integer()->get());
  fail(scope.at(node, key), std::string(dimension == "status" ? "expected a string or an integer" : "expected a string") +
                                ", got " + type_phrase(node));
}

void check_value(const Scope& scope, const toml::node& node, std::string_view dimension, const std::string& key,
                 const std::string& value) {
  const std::string problem = dimension_value_problem(dimension, value);
  if (!problem.empty()) fail(scope.at(node, key), problem);
}

DimensionValue read_group(const Scope& scope, const toml::table& table, std::string_view dimension, const std::string& key) {
  if (dimension == kSearchDimension) {
    fail(scope.at(table, key), "search takes plain strings, not groups (the API accepts one search text)");
  }
  reject_unknown_keys(scope, table, key, {"name", "values"});
  DimensionValue group;
  group.is_group = true;
  const toml::node* name = table.get("name");
  if (name == nullptr) fail(scope.at(table, join_key(key, "name")), "a group needs a name (name = \"...\")");
  group.label = expect_nonempty_string(scope, *name, join_key(key, "name"));
  if (group.label == kAll) fail(scope.at(*name, join_key(key, "name")), "\"*\" is reserved for no filter");
  const std::string problem = group_name_problem(group.label);
  if (!problem.empty()) fail(scope.at(*name, join_key(key, "name")), problem);

  const toml::node* values = table.get("values");
  if (values == nullptr) fail(scope.at(table, join_key(key, "values")), "a group needs values (values = [...])");
  const toml::array& array = expect_array(scope, *values, join_key(key, "values"));
  if (array.empty()) fail(scope.at(*values, join_key(key, "values")), "must not be empty");
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    const std::string element_key = index_key(join_key(key, "values"), i);
    const std::string value = read_raw_value(scope, element, dimension, element_key);
    if (value == kAll) fail(scope.at(element, element_key), "\"*\" (no filter) cannot be part of a group");
    check_value(scope, element, dimension, element_key, value);
    if (std::find(group.values.begin(), group.values.end(), value) != group.values.end()) {
      fail(scope.at(element, element_key), "duplicate value " + in_quotes(value) + " in group " + in_quotes(group.label));
    }
    group.values.push_back(value);
  }
  return group;
}

MatrixDimension read_dimension(const Scope& scope, const toml::key& key_node, const toml::node& node, std::string_view dimension) {
  const std::string key = join_key("matrix", dimension);
  MatrixDimension out;
  out.dimension = std::string(dimension);
  out.where = scope.at(key_node, key);
  const toml::array& array = expect_array(scope, node, key);
  if (array.empty()) fail(scope.at(node, key), "must not be empty (use [\"*\"] for no filter)");

  std::vector<std::string> labels;  // "*" for the unfiltered entry
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::node& element = *array.get(i);
    const std::string element_key = index_key(key, i);
    std::optional<DimensionValue> entry;
    if (const auto* table = element.as_table()) {
      entry = read_group(scope, *table, dimension, element_key);
    } else if (element.is_string() || element.is_integer()) {
      const std::string value = read_raw_value(scope, element, dimension, element_key);
      if (value != kAll) {
        check_value(scope, element, dimension, element_key, value);
        entry = DimensionValue{value, {value}, false};
      }
    } else {
      fail(scope.at(element, element_key),
           "expected \"*\", a value or a { name = \"...\", values = [...] } group, got " + type_phrase(element));
    }

    const std::string label = entry ? entry->label : std::string(kAll);
    const auto earlier = std::find(labels.begin(), labels.end(), label);
    if (earlier != labels.end()) {
      const std::size_t j = static_cast<std::size_t>(earlier - labels.begin());
      const bool group_involved = (entry && entry->is_group) || (out.entries[j] && out.entries[j]->is_group);
      fail(scope.at(element, element_key),
           group_involved ? "group name " + in_quotes(label) + " is also the label of entry [" + std::to_string(j) + "]"
                          : "duplicate entry " + in_quotes(label) + " (also entry [" + std::to_string(j) + "])");
    }
    labels.push_back(label);
    out.entries.push_back(std::move(entry));
  }
  return out;
}

const MatrixDimension* find_dimension(const std::vector<MatrixDimension>& matrix, std::string_view dimension) {
  for (const MatrixDimension& d : matrix) {
    if (d.dimension == dimension) return &d;
  }
  return nullptr;
}

bool names_group(const MatrixDimension* dimension, const std::string& label) {
  if (dimension == nullptr) return false;
  return std::any_of(dimension->entries.begin(), dimension->entries.end(),
                     [&](const std::optional<DimensionValue>& e) { return e && e->is_group && e->label == label; });
}

// exclude / include: each rule names dimensions with "*", a group of that dimension, or a value.
std::vector<MatrixRule> read_rules(const Scope& scope, const toml::node& node, const std::string& key,
                                   const std::vector<MatrixDimension>& matrix) {
  const toml::array& array = expect_array_of_tables(scope, node, key);
  const std::vector<std::string_view> dimensions(kDimensions.begin(), kDimensions.end());
  std::vector<MatrixRule> rules;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array.get(i)->as_table();
    const std::string prefix = index_key(key, i);
    reject_unknown_keys(scope, table, prefix, dimensions, "dimension");
    if (table.empty()) fail(scope.at(table, prefix), "names no dimension (e.g. country = \"US\")");
    MatrixRule rule;
    rule.where = scope.at(table, prefix);
    for (std::string_view dimension : kDimensions) {  // stored in kDimensions order
      const toml::node* value_node = table.get(dimension);
      if (value_node == nullptr) continue;
      const std::string field_key = join_key(prefix, dimension);
      const std::string value = read_raw_value(scope, *value_node, dimension, field_key);
      if (value != kAll && !names_group(find_dimension(matrix, dimension), value)) {
        check_value(scope, *value_node, dimension, field_key, value);
      }
      rule.fields.emplace_back(std::string(dimension), value);
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace

void read_matrix(const Scope& scope, const toml::node& node, Config& config) {
  const toml::table& table = expect_table(scope, node, "matrix");
  reject_unknown_keys(scope, table, "matrix", matrix_keys(), "dimension");
  for (const auto& [key, value] : entries_in_file_order(table)) {  // errors in reading order
    if (key->str() == "exclude" || key->str() == "include") continue;
    config.matrix.push_back(read_dimension(scope, *key, *value, key->str()));
  }
  std::sort(config.matrix.begin(), config.matrix.end(), [](const MatrixDimension& a, const MatrixDimension& b) {
    return dimension_index(a.dimension) < dimension_index(b.dimension);
  });
  if (const toml::node* n = table.get("exclude")) config.excludes = read_rules(scope, *n, "matrix.exclude", config.matrix);
  if (const toml::node* n = table.get("include")) config.includes = read_rules(scope, *n, "matrix.include", config.matrix);
}

}  // namespace qetl::config_detail
