#include "warehouse/sqlite_data_checks.hpp"

#include <optional>

#include "warehouse/metrics_columns.hpp"
#include "warehouse/run_scope.hpp"

namespace qetl {
namespace {

// " AND project IN (...)" for a non-empty project list, bound as one JSON array parameter (?2).
std::string projects_condition(const std::vector<std::string>& projects, const std::string& column) {
  return projects.empty() ? "" : " AND " + column + " IN (SELECT value FROM json_each(?2))";
}

void bind_snapshot_and_projects(SQLite::Statement& s, UnixSeconds snapshot_at, const std::vector<std::string>& projects) {
  s.bind(1, format_sql_timestamp(snapshot_at));
  if (!projects.empty()) s.bind(2, projects_json(projects));
}

void bind_optional(SQLite::Statement& s, int index, const std::optional<double>& value) {
  if (value) {
    s.bind(index, *value);
  } else {
    s.bind(index);
  }
}

// Every customer_metrics column of `alias`, in metrics_columns() order.
std::string metrics_select(const std::string& alias) { return join_columns(metrics_columns(), alias + "."); }

// A row selected as metrics_select(). The decimals come back as SQLite renders the stored number
// (15 significant digits).
MetricsRow read_metrics_row(SQLite::Statement& s) {
  MetricsRow r;
  int i = 0;
  r.snapshot_at = parse_utc_timestamp(s.getColumn(i++).getString());
  r.project = s.getColumn(i++).getString();
  r.environment = s.getColumn(i++).getInt();
  r.window_name = s.getColumn(i++).getString();
  r.window_kind = s.getColumn(i++).getString();
  r.window_from = parse_utc_timestamp(s.getColumn(i++).getString());
  r.window_to = parse_utc_timestamp(s.getColumn(i++).getString());
  r.segment = s.getColumn(i++).getString();
  for (auto& d : r.dimensions) {
    const SQLite::Column c = s.getColumn(i++);
    if (!c.isNull()) d = c.getString();
  }
  Metrics& m = r.metrics;
  m.clients_with_event = s.getColumn(i++).getInt64();
  m.active_subscribers = s.getColumn(i++).getInt64();
  m.active_trials = s.getColumn(i++).getInt64();
  m.billing_retry = s.getColumn(i++).getInt64();
  m.churned_subscribers = s.getColumn(i++).getDouble();
  m.canceled_trials = s.getColumn(i++).getDouble();
  m.avg_payment_count = s.getColumn(i++).getString();
  m.avg_price = s.getColumn(i++).getString();
  m.sales = s.getColumn(i++).getString();
  r.fetched_at = parse_utc_timestamp(s.getColumn(i++).getString());
  r.run_id = s.getColumn(i++).getString();
  return r;
}

}  // namespace

std::optional<UnixSeconds> sqlite_latest_snapshot(SQLite::Database& db, const std::vector<std::string>& projects) {
  SQLite::Statement s(db, "SELECT max(s.snapshot_at) FROM customer_metrics s WHERE ?1 = 1" +
                              projects_condition(projects, "s.project"));
  s.bind(1, 1);
  if (!projects.empty()) s.bind(2, projects_json(projects));
  if (!s.executeStep() || s.getColumn(0).isNull()) return std::nullopt;
  return parse_utc_timestamp(s.getColumn(0).getString());
}

void sqlite_visit_snapshot_rows(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                const RowVisitor& visit) {
  SQLite::Statement s(db, "SELECT " + metrics_select("s") + " FROM customer_metrics s WHERE s.snapshot_at = ?1" +
                              projects_condition(projects, "s.project"));
  bind_snapshot_and_projects(s, snapshot_at, projects);
  while (s.executeStep()) visit(read_metrics_row(s));
}

void sqlite_visit_previous_rows(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                                const RowVisitor& visit) {
  SQLite::Statement s(
      db, "SELECT " + metrics_select("p") +
              " FROM customer_metrics s JOIN customer_metrics p ON p.rowid = ("
              "SELECT q.rowid FROM customer_metrics q WHERE q.project = s.project AND "
              "q.environment = s.environment AND q.window_name = s.window_name AND q.segment = s.segment AND "
              "q.snapshot_at < s.snapshot_at AND "
              "q.snapshot_at > CASE WHEN s.window_kind = 'cohort' THEN s.window_from ELSE '' END AND "
              "(s.window_kind <> 'cohort' OR q.window_from = s.window_from) "
              "ORDER BY q.snapshot_at DESC LIMIT 1) "
              "WHERE s.snapshot_at = ?1" +
              projects_condition(projects, "s.project"));
  bind_snapshot_and_projects(s, snapshot_at, projects);
  while (s.executeStep()) visit(read_metrics_row(s));
}

void sqlite_replace_findings(SQLite::Database& db, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                             const std::string& run_id, const std::vector<DataCheckFinding>& findings) {
  SQLite::Statement remove(db, "DELETE FROM etl_data_checks WHERE snapshot_at = ?1" + projects_condition(projects, "project"));
  bind_snapshot_and_projects(remove, snapshot_at, projects);
  remove.exec();
  SQLite::Statement insert(db,
                           "INSERT INTO etl_data_checks (run_id, snapshot_at, project, environment, window_name, "
                           "window_from, segment, check_name, severity, metric, observed, expected, message) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const DataCheckFinding& f : findings) {
    int i = 1;
    insert.bind(i++, f.run_id);
    insert.bind(i++, format_sql_timestamp(f.snapshot_at));
    insert.bind(i++, f.project);
    insert.bind(i++, f.environment);
    insert.bind(i++, f.window_name);
    insert.bind(i++, format_sql_timestamp(f.window_from));
    insert.bind(i++, f.segment);
    insert.bind(i++, f.check_name);
    insert.bind(i++, f.severity);
    insert.bind(i++, f.metric);
    bind_optional(insert, i++, f.observed);
    bind_optional(insert, i++, f.expected);
    insert.bind(i++, f.message);
    insert.exec();
    insert.reset();
  }
  SQLite::Statement count(db, "UPDATE etl_runs SET data_check_findings = ? WHERE run_id = ?");
  count.bind(1, static_cast<std::int64_t>(findings.size()));
  count.bind(2, run_id);
  count.exec();
}

}  // namespace qetl
