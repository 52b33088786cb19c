#include "runner/data_check_step.hpp"

#include <cmath>
#include <cstdio>

#include "checks/data_checks.hpp"
#include "util/log.hpp"

namespace qetl {
namespace {

// The checks of SPEC with their severities, so the metrics file names each one even at 0.
constexpr std::pair<const char*, const char*> kChecks[] = {
    {kSubsetExceedsSuperset, kSeverityError},
    {kEmptyAfterNonempty, kSeverityError},
    {kCountDecreased, kSeverityWarning},
    {kLargeChange, kSeverityWarning},
};

std::string number(const std::optional<double>& v) {
  if (!v) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", *v);
  return buf;
}

}  // namespace

bool findings_fail(ChecksFailOn fail_on, std::int64_t errors, std::int64_t warnings) {
  switch (fail_on) {
    case ChecksFailOn::never: return false;
    case ChecksFailOn::error: return errors > 0;
    case ChecksFailOn::warning: return errors + warnings > 0;
  }
  return false;
}

CheckReport check_snapshot(const Config& config, Warehouse& warehouse, UnixSeconds snapshot_at,
                           const std::string& run_id, std::size_t max_log_lines) {
  std::vector<std::string> projects;
  for (const ProjectConfig& p : config.projects) projects.push_back(p.name);
  CheckSettings settings;
  settings.tolerance = config.checks.tolerance;
  settings.max_change = config.checks.max_change;
  settings.min_count = config.checks.min_count;

  DataChecks checks(config, settings);
  std::size_t current = 0;
  warehouse.visit_snapshot_rows(snapshot_at, projects, [&](const MetricsRow& row) {
    checks.add_current(row);
    current += 1;
  });
  warehouse.visit_previous_rows(snapshot_at, projects, [&](const MetricsRow& row) { checks.add_previous(row); });

  CheckReport report;
  report.findings = checks.run(run_id);
  warehouse.replace_findings(snapshot_at, projects, run_id, report.findings);

  for (const auto& [check, severity] : kChecks) report.counts[{check, severity}] = 0;
  for (const DataCheckFinding& f : report.findings) {
    report.counts[{f.check_name, f.severity}] += 1;
    (f.severity == kSeverityError ? report.errors : report.warnings) += 1;
  }
  report.fails = findings_fail(config.checks.fail_on, report.errors, report.warnings);

  std::size_t logged = 0;
  for (const DataCheckFinding& f : report.findings) {
    if (logged == max_log_lines) break;
    logged += 1;
    log::warning("data check: " + f.message,
                 {{"check", f.check_name}, {"severity", f.severity}, {"project", f.project},
                  {"environment", std::to_string(f.environment)}, {"window", f.window_name},
                  {"window_from", format_iso8601(f.window_from)}, {"segment", f.segment}, {"metric", f.metric},
                  {"observed", number(f.observed)}, {"expected", number(f.expected)}});
  }
  const log::Fields summary = {{"snapshot", format_iso8601(snapshot_at)}, {"rows_checked", std::to_string(current)},
                               {"errors", std::to_string(report.errors)},
                               {"warnings", std::to_string(report.warnings)},
                               {"not_logged", std::to_string(report.findings.size() - logged)}};
  if (report.findings.empty()) {
    log::info("data checks: no finding", summary);
  } else {
    log::warning("data checks: findings recorded in etl_data_checks", summary);
  }
  return report;
}

}  // namespace qetl
