#pragma once
// Shared by the config tests: a minimal valid config and a way to get parse_config's error.
#include <string>

#include "config/config.hpp"
#include "util/errors.hpp"

namespace qetl::test {

// Three lines each; tests put the part under test first so its line numbers are easy to read.
inline const std::string kProject = "[[project]]\nname = \"app\"\napi_key = { env = \"KEY\" }\n";
inline const std::string kWindow = "[[window]]\nname = \"w\"\nlast = \"7d\"\n";
inline const std::string kBase = kProject + kWindow;

// The ConfigError message parse_config throws for `text` read as "t.toml", or "<no error>".
inline std::string config_error(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace qetl::test
