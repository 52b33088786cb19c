#pragma once
// Typed access to parsed TOML with file:line:key errors. Private to the config module: only
// config/*.cpp include toml++, so no other module depends on it.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/config.hpp"

namespace qetl::config_detail {

// The file being read, so every location can name it.
class Scope {
 public:
  explicit Scope(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  SourceLocation at(const toml::node& node, std::string key) const;
  SourceLocation at(const toml::key& key, std::string path) const;
  SourceLocation at_line(int line, std::string key) const;

 private:
  std::string file_;
};

// Throws ConfigError("file:line:key: what").
[[noreturn]] void fail(const SourceLocation& where, const std::string& what);

std::string join_key(const std::string& prefix, std::string_view key);
std::string index_key(const std::string& key, std::size_t index);
// "a string", "an integer", ...: for "expected X, got Y" messages.
std::string type_phrase(const toml::node& node);
// The text in double quotes, control characters escaped (messages stay one line).
std::string in_quotes(std::string_view text);

using Entry = std::pair<const toml::key*, const toml::node*>;
// toml++ keeps a table's keys sorted by name; errors should come in the order a person reads.
std::vector<Entry> entries_in_file_order(const toml::table& table);

// Throws for the first key (in file order) that is not in `allowed`; `what` names the kind of
// key in the message ("key", "dimension").
void reject_unknown_keys(const Scope& scope, const toml::table& table, const std::string& prefix,
                         const std::vector<std::string_view>& allowed, std::string_view what = "key");

const toml::table& expect_table(const Scope& scope, const toml::node& node, const std::string& key);
const toml::array& expect_array(const Scope& scope, const toml::node& node, const std::string& key);
std::string expect_string(const Scope& scope, const toml::node& node, const std::string& key);
std::string expect_nonempty_string(const Scope& scope, const toml::node& node, const std::string& key);
std::int64_t expect_integer(const Scope& scope, const toml::node& node, const std::string& key);
std::int64_t expect_integer_in(const Scope& scope, const toml::node& node, const std::string& key,
                               std::int64_t lo, std::int64_t hi);
// An integer or a float in [lo, hi] (NaN and infinities are not).
double expect_number_in(const Scope& scope, const toml::node& node, const std::string& key, double lo, double hi);
// A non-empty string of printable UTF-8 (text_value.hpp): paths and names that messages repeat.
std::string expect_text(const Scope& scope, const toml::node& node, const std::string& key);
// A project or window name: non-empty printable UTF-8 (text_value.hpp) of at most
// kMaxNameBytes bytes.
std::string expect_name(const Scope& scope, const toml::node& node, const std::string& key);

// A [[name]] array of tables (also accepts name = [{...}, ...]); anything else is an error.
const toml::array& expect_array_of_tables(const Scope& scope, const toml::node& node, const std::string& key);

}  // namespace qetl::config_detail
