#include "cli/plan_text.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "api/query.hpp"

namespace qetl::cli {

double estimated_seconds(const Config& config, const std::vector<Cell>& cells) {
  std::map<std::size_t, std::size_t> per_project;
  for (const Cell& c : cells) per_project[c.project_index] += 1;
  std::size_t largest = 0;
  for (const auto& [project, count] : per_project) largest = std::max(largest, count);
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
  return cell.project + "\tenv=" + std::to_string(cell.environment) + "\t" + cell.window_name + " [" +
         format_iso8601(cell.window_from) + " .. " + format_iso8601(cell.window_to) + ")\t" + cell.segment + "\t" +
         display_url(config.api.base_url, build_query(cell));
}

std::string plan_footer(const Config& config, const std::vector<Cell>& cells) {
  std::map<std::size_t, std::size_t> per_project;
  for (const Cell& c : cells) per_project[c.project_index] += 1;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g", config.api.requests_per_minute);
  return std::to_string(cells.size()) + " cells across " + std::to_string(per_project.size()) +
         " project(s); estimated duration " + human_duration(estimated_seconds(config, cells)) + " at " + rate +
         " requests/minute per project (projects run side by side)";
}

}  // namespace qetl::cli
