#pragma once
// Logs are for journald: stderr, one event per line, key=value fields, no colour. When stderr
// is journald's stream ($JOURNAL_STREAM names it), each line starts with a syslog priority
// prefix (<7> debug, <6> info, <4> warning, <3> error) that journald turns into the entry's
// priority and strips, so `journalctl -p warning` works and JSON lines stay JSON.
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

// Renders one event as the line write() would print (without the newline and the journald
// prefix); for tests.
std::string render(Level level, std::string_view message, const Fields& fields, Format format, const std::string& timestamp);

// "<6>" for info, ...: the syslog priority prefix journald understands.
std::string_view journald_prefix(Level level);
// True when $JOURNAL_STREAM ("device:inode") names the file stderr is open on.
bool stderr_is_journal();

// A status line redrawn in place at the bottom of a terminal (the progress line). Log lines
// written while it is shown clear it first and redraw it after, so the two never mix. Only
// for a terminal: the caller checks isatty. An empty text removes it.
void set_status_line(const std::string& text);

}  // namespace qetl::log
