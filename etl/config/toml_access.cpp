#include "config/toml_access.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "config/text_value.hpp"
#include "util/errors.hpp"

namespace qetl::config_detail {
namespace {
// Whole numbers in full (6000000, not 6e+06), others as %g (0.1, 1e-300, inf).
std::string format_number(double v) {
  char buf[64];
  if (std::isfinite(v) && std::fabs(v) < 1e15 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}
}  // namespace

SourceLocation Scope::at(const toml::node& node, std::string key) const {
  return at_line(static_cast<int>(node.source().begin.line), std::move(key));
}

SourceLocation Scope::at(const toml::key& key, std::string path) const {
  return at_line(static_cast<int>(key.source().begin.line), std::move(path));
}

SourceLocation Scope::at_line(int line, std::string key) const {
  // A key with no position (the root table, an implicit table) points at the file's start.
  return SourceLocation{file_, line > 0 ? line : 1, std::move(key)};
}

void fail(const SourceLocation& where, const std::string& what) { throw ConfigError(where.str() + ": " + what); }

std::string join_key(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

std::string index_key(const std::string& key, std::size_t index) { return key + "[" + std::to_string(index) + "]"; }

std::string type_phrase(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string in_quotes(std::string_view text) { return quoted_for_message(text); }

std::vector<Entry> entries_in_file_order(const toml::table& table) {
  std::vector<Entry> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const auto& sa = a.first->source().begin;
    const auto& sb = b.first->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  return entries;
}

void reject_unknown_keys(const Scope& scope, const toml::table& table, const std::string& prefix,
                         const std::vector<std::string_view>& allowed, std::string_view what) {
  for (const auto& [key, node] : entries_in_file_order(table)) {
    if (std::find(allowed.begin(), allowed.end(), key->str()) != allowed.end()) continue;
    std::string valid;
    for (std::string_view name : allowed) valid += (valid.empty() ? "" : ", ") + std::string(name);
    fail(scope.at(*key, join_key(prefix, key->str())), "unknown " + std::string(what) + "; valid " + std::string(what) + "s: " + valid);
  }
}

const toml::table& expect_table(const Scope& scope, const toml::node& node, const std::string& key) {
  if (const auto* t = node.as_table()) return *t;
  fail(scope.at(node, key), "expected a table, got " + type_phrase(node));
}

const toml::array& expect_array(const Scope& scope, const toml::node& node, const std::string& key) {
  if (const auto* a = node.as_array()) return *a;
  fail(scope.at(node, key), "expected an array, got " + type_phrase(node));
}

std::string expect_string(const Scope& scope, const toml::node& node, const std::string& key) {
  if (const auto* s = node.as_string()) return s->get();
  fail(scope.at(node, key), "expected a string, got " + type_phrase(node));
}

std::string expect_nonempty_string(const Scope& scope, const toml::node& node, const std::string& key) {
  std::string s = expect_string(scope, node, key);
  if (s.empty()) fail(scope.at(node, key), "must not be empty");
  return s;
}

std::int64_t expect_integer(const Scope& scope, const toml::node& node, const std::string& key) {
  if (const auto* i = node.as_integer()) return i->get();
  fail(scope.at(node, key), "expected an integer, got " + type_phrase(node));
}

std::int64_t expect_integer_in(const Scope& scope, const toml::node& node, const std::string& key, std::int64_t lo,
                               std::int64_t hi) {
  const std::int64_t v = expect_integer(scope, node, key);
  if (v < lo || v > hi) {
    fail(scope.at(node, key), "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + std::to_string(v));
  }
  return v;
}

double expect_number_in(const Scope& scope, const toml::node& node, const std::string& key, double lo, double hi) {
  double v = 0;
  std::string as_written;
  if (const auto* i = node.as_integer()) {
    v = static_cast<double>(i->get());
    as_written = std::to_string(i->get());  // exact, even where a double would round
  } else if (const auto* f = node.as_floating_point()) {
    v = f->get();
    as_written = format_number(v);
  } else {
    fail(scope.at(node, key), "expected a number, got " + type_phrase(node));
  }
  if (!(v >= lo && v <= hi)) {  // also false for NaN
    fail(scope.at(node, key), "must be between " + format_number(lo) + " and " + format_number(hi) + ", got " + as_written);
  }
  return v;
}

std::string expect_text(const Scope& scope, const toml::node& node, const std::string& key) {
  std::string text = expect_nonempty_string(scope, node, key);
  const std::string problem = text_problem(text);
  if (!problem.empty()) fail(scope.at(node, key), problem);
  return text;
}

std::string expect_name(const Scope& scope, const toml::node& node, const std::string& key) {
  std::string name = expect_text(scope, node, key);
  if (name.size() > kMaxNameBytes) {
    fail(scope.at(node, key), "is " + std::to_string(name.size()) + " bytes long, at most " + std::to_string(kMaxNameBytes) +
                                  " are allowed (it is part of every row's key in the warehouse)");
  }
  return name;
}

const toml::array& expect_array_of_tables(const Scope& scope, const toml::node& node, const std::string& key) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    fail(scope.at(node, key), "expected [[" + key + "]] tables, got " + type_phrase(node));
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (!element.is_table()) fail(scope.at(element, index_key(key, i)), "expected a table, got " + type_phrase(element));
  }
  return *array;
}

}  // namespace qetl::config_detail
