#include "util/log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "util/time.hpp"

namespace qetl::log {
namespace {
Level g_min_level = Level::info;
Format g_format = Format::text;
std::mutex g_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Text values with spaces, quotes or '=' are quoted so a line splits unambiguously.
void append_text_value(std::string& out, std::string_view v) {
  const bool plain = !v.empty() && v.find_first_of(" \"=\t\n") == std::string_view::npos;
  if (plain) {
    out += v;
  } else {
    append_json_string(out, v);
  }
}

std::string now_with_millis() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  std::string s = format_iso8601(ms / 1000);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
  s.insert(s.size() - 1, frac);
  return s;
}
}  // namespace

void configure(Level min_level, Format format) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_min_level = min_level;
  g_format = format;
}

Level min_level() { return g_min_level; }
bool enabled(Level level) { return static_cast<int>(level) >= static_cast<int>(g_min_level); }

std::string render(Level level, std::string_view message, const Fields& fields, Format format, const std::string& timestamp) {
  std::string line;
  if (format == Format::json) {
    line += "{\"ts\":";
    append_json_string(line, timestamp);
    line += ",\"level\":";
    append_json_string(line, level_name(level));
    line += ",\"msg\":";
    append_json_string(line, message);
    for (const Field& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      append_json_string(line, f.value);
    }
    line += '}';
  } else {
    line += timestamp;
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += message;
    for (const Field& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      append_text_value(line, f.value);
    }
  }
  return line;
}

void write(Level level, std::string_view message, const Fields& fields) {
  if (!enabled(level)) return;
  std::string line = render(level, message, fields, g_format, now_with_millis());
  line += '\n';
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qetl::log
