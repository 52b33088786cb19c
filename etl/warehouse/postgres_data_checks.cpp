#include "warehouse/postgres_data_checks.hpp"

#include "warehouse/postgres_rows.hpp"
#include "warehouse/run_scope.hpp"

namespace qetl {
namespace {

// " AND <column> IN (the JSON array $2)" for a non-empty project list. The statements always
// bind $2, so PostgreSQL is told its type even when the condition is left out.
std::string projects_condition(const std::vector<std::string>& projects, const std::string& column) {
  if (projects.empty()) return " AND $2::text = '[]'";
  return " AND " + column + " IN (SELECT pg_catalog.jsonb_array_elements_text($2::jsonb))";
}

}  // namespace

std::optional<UnixSeconds> pg_latest_snapshot(pqxx::transaction_base& tx, const std::vector<std::string>& projects) {
  // $1 is unused but bound, so that the project condition's $2 keeps its number.
  const pqxx::result r = tx.exec_params(
      "SELECT EXTRACT(EPOCH FROM max(s.snapshot_at))::bigint FROM customer_metrics s WHERE $1::int = 1" +
          projects_condition(projects, "s.project"),
      1, projects_json(projects));
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return r[0][0].as<UnixSeconds>();
}

void pg_visit_snapshot_rows(pqxx::transaction_base& tx, UnixSeconds snapshot_at,
                            const std::vector<std::string>& projects, const RowVisitor& visit) {
  const pqxx::result r = tx.exec_params("SELECT " + metrics_select_list("s") +
                                            " FROM customer_metrics s WHERE s.snapshot_at = $1" +
                                            projects_condition(projects, "s.project"),
                                        pg_timestamp(snapshot_at), projects_json(projects));
  for (const auto& row : r) visit(read_metrics_row(row));
}

void pg_visit_previous_rows(pqxx::transaction_base& tx, UnixSeconds snapshot_at,
                            const std::vector<std::string>& projects, const RowVisitor& visit) {
  const pqxx::result r = tx.exec_params(
      "SELECT " + metrics_select_list("p") +
          " FROM customer_metrics s CROSS JOIN LATERAL (SELECT * FROM customer_metrics q "
          "WHERE q.project = s.project AND q.environment = s.environment AND q.window_name = s.window_name "
          "AND q.segment = s.segment AND q.snapshot_at < s.snapshot_at "
          "AND q.snapshot_at > CASE WHEN s.window_kind = 'cohort' THEN s.window_from "
          "ELSE '-infinity'::timestamptz END "
          "AND (s.window_kind <> 'cohort' OR q.window_from = s.window_from) "
          "ORDER BY q.snapshot_at DESC LIMIT 1) p WHERE s.snapshot_at = $1" +
          projects_condition(projects, "s.project"),
      pg_timestamp(snapshot_at), projects_json(projects));
  for (const auto& row : r) visit(read_metrics_row(row));
}

void pg_replace_findings(pqxx::transaction_base& tx, UnixSeconds snapshot_at, const std::vector<std::string>& projects,
                         const std::string& run_id, const std::vector<DataCheckFinding>& findings) {
  tx.exec_params0("DELETE FROM etl_data_checks WHERE snapshot_at = $1" + projects_condition(projects, "project"),
                  pg_timestamp(snapshot_at), projects_json(projects));
  if (!findings.empty()) copy_findings(tx, findings);
  tx.exec_params0("UPDATE etl_runs SET data_check_findings = $2 WHERE run_id = $1", run_id,
                  static_cast<std::int64_t>(findings.size()));
}

}  // namespace qetl
