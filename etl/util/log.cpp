#include "util/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/text.hpp"
#include "util/time.hpp"

namespace qetl::log {
namespace {
Level g_min_level = Level::info;
Format g_format = Format::text;
bool g_journal = false;
std::string g_status;  // the status line currently shown, if any
std::mutex g_mutex;

// "\r" to column 0, ESC[K erases to the end of the line.
constexpr std::string_view kClearLine = "\r\x1b[K";

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// RapidJSON's writer escapes what JSON requires; the text is made valid UTF-8 first, so that a
// byte from outside (an API answer, a library's message) can never make a line unreadable.
void write_json_string(JsonWriter& w, std::string_view s) {
  const std::string valid = valid_utf8(s);
  w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

// One JSON string literal, for the text format's quoted values.
std::string json_string(std::string_view s) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  write_json_string(w, s);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// Text values with spaces, quotes, '=' or control characters are quoted (as JSON strings) so a
// line splits unambiguously and stays one line.
void append_text_value(std::string& out, std::string_view v) {
  bool plain = !v.empty() && is_valid_utf8(v);
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '"' || c == '=') plain = false;
  }
  out += plain ? std::string(v) : json_string(v);
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
  const bool journal = stderr_is_journal();
  std::lock_guard<std::mutex> lock(g_mutex);
  g_min_level = min_level;
  g_format = format;
  g_journal = journal;
}

std::string_view journald_prefix(Level level) {
  switch (level) {
    case Level::debug: return "<7>";
    case Level::info: return "<6>";
    case Level::warning: return "<4>";
    case Level::error: return "<3>";
  }
  return "<6>";
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  // systemd documents the check: stderr is the journal only while its device and inode match
  // (a child whose stderr was redirected inherits the variable but not the stream).
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

void set_status_line(const std::string& text) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::string out(kClearLine);
  out += text;
  g_status = text;
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

Level min_level() { return g_min_level; }
bool enabled(Level level) { return static_cast<int>(level) >= static_cast<int>(g_min_level); }

std::string render(Level level, std::string_view message, const Fields& fields, Format format, const std::string& timestamp) {
  std::string line;
  if (format == Format::json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("ts");
    write_json_string(w, timestamp);
    w.Key("level");
    w.String(level_name(level));
    w.Key("msg");
    write_json_string(w, message);
    for (const Field& f : fields) {
      const std::string key = valid_utf8(f.key);
      w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      write_json_string(w, f.value);
    }
    w.EndObject();
    line.assign(buffer.GetString(), buffer.GetSize());
  } else {
    line += timestamp;
    line += ' ';
    line += level_name(level);
    line += ' ';
    // One event, one line: a message with line breaks (a library's error text) is joined.
    line += clean_text(message, 64 * 1024);
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
  const std::string rendered = render(level, message, fields, g_format, now_with_millis());
  std::lock_guard<std::mutex> lock(g_mutex);
  std::string line;
  if (!g_status.empty()) line += kClearLine;
  if (g_journal) line += journald_prefix(level);
  line += rendered;
  line += '\n';
  line += g_status;  // redrawn below the new line
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace qetl::log
