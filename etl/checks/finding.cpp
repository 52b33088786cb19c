#include "checks/finding.hpp"

#include <cstdio>

namespace qetl::checks_detail {

DataCheckFinding finding_for(const CheckTables& tables, const CurrentCell& cell, const std::string& run_id,
                             const char* check_name, const char* severity, const char* metric) {
  DataCheckFinding f;
  f.run_id = run_id;
  f.snapshot_at = cell.snapshot_at;
  f.project = tables.names.text(cell.project);
  f.environment = cell.environment;
  f.window_name = tables.names.text(cell.window_name);
  f.window_from = cell.window_from;
  f.segment = tables.segments.text(cell.segment);
  f.check_name = check_name;
  f.severity = severity;
  f.metric = metric;
  return f;
}

std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  std::string text = buffer;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace qetl::checks_detail
