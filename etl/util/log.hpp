#pragma once
// Logs are for journald: stderr, one event per line, key=value fields, no colour.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qetl::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };
enum class Format { text, json };

struct Field {
  std::string key;
  std::string value;
};
using Fields = std::vector<Field>;

void configure(Level min_level, Format format);
Level min_level();
bool enabled(Level level);

// Writes one line to stderr. Thread-safe. Callers pass already-masked text: secrets are
// blanked where URLs and connection strings are rendered, not here.
void write(Level level, std::string_view message, const Fields& fields = {});

inline void debug(std::string_view m, const Fields& f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, const Fields& f = {}) { write(Level::info, m, f); }
inline void warning(std::string_view m, const Fields& f = {}) { write(Level::warning, m, f); }
inline void error(std::string_view m, const Fields& f = {}) { write(Level::error, m, f); }

// Renders one event as the line write() would print (without the newline); for tests.
std::string render(Level level, std::string_view message, const Fields& fields, Format format, const std::string& timestamp);

}  // namespace qetl::log
