#include "cli/plan_text.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "api/query.hpp"

namespace qetl::cli {

namespace {

// Projects whose keys come from the same source share one key, and so one pace.
std::string key_source(const Config& config, std::size_t project_index) {
  const SecretSource& s = config.projects.at(project_index).api_key;
  return std::to_string(static_cast<int>(s.kind)) + ":" + s.name;
}

// A field of a tab-separated line: backslash, tab and line breaks escaped as \\, \t, \n, \r, so
// that every cell stays one line of exactly five fields whatever its names hold.
std::string field(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

double estimated_seconds(const Config& config, const std::vector<Cell>& cells) {
  std::map<std::string, std::size_t> per_key;
  for (const Cell& c : cells) per_key[key_source(config, c.project_index)] += 1;
  std::size_t largest = 0;
  for (const auto& [key, count] : per_key) largest = std::max(largest, count);
  return static_cast<double>(largest) * 60.0 / config.api.requests_per_minute;
}

std::string human_duration(double seconds) {
  const long total = static_cast<long>(std::ceil(seconds));
  const long h = total / 3600, m = total % 3600 / 60, s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%ldh %02ldm", h, m);
  } else if (m > 0) {
    std::snprintf(buf, sizeof buf, "%ldm %02lds", m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

std::string plan_line(const Config& config, const Cell& cell) {
  return field(cell.project) + "\tenv=" + std::to_string(cell.environment) + "\t" + field(cell.window_name) + " [" +
         format_iso8601(cell.window_from) + " .. " + format_iso8601(cell.window_to) + ")\t" + field(cell.segment) +
         "\t" + display_url(config.api.base_url, build_query(cell));
}

std::string plan_footer(const Config& config, const std::vector<Cell>& cells) {
  std::map<std::size_t, std::size_t> per_project;
  for (const Cell& c : cells) per_project[c.project_index] += 1;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g", config.api.requests_per_minute);
  return std::to_string(cells.size()) + " cells across " + std::to_string(per_project.size()) +
         " project(s); estimated duration " + human_duration(estimated_seconds(config, cells)) + " at " + rate +
         " requests/minute per API key (keys run side by side)";
}

}  // namespace qetl::cli
