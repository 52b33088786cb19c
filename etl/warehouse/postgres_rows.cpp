#include "warehouse/postgres_rows.hpp"

#include <map>
#include <tuple>
#include <utility>

#include "warehouse/metrics_columns.hpp"

namespace qetl {
namespace {

template <std::size_t... I>
auto dimensions_tuple(const MetricsRow& r, std::index_sequence<I...>) {
  return std::forward_as_tuple(r.dimensions[I]...);
}

// One customer_metrics row as the COPY tuple, in metrics_columns() order; NULL for an
// unfiltered dimension.
auto copy_tuple(const MetricsRow& r) {
  const Metrics& m = r.metrics;
  return std::tuple_cat(
      std::make_tuple(pg_timestamp(r.snapshot_at), r.project, std::to_string(r.environment), r.window_name,
                      r.window_kind, pg_timestamp(r.window_from), pg_timestamp(r.window_to), r.segment),
      dimensions_tuple(r, std::make_index_sequence<kDimensionCount>{}),
      std::make_tuple(std::to_string(m.clients_with_event), std::to_string(m.active_subscribers),
                      std::to_string(m.active_trials), std::to_string(m.billing_retry),
                      exact_double_text(m.churned_subscribers), exact_double_text(m.canceled_trials),
                      m.avg_payment_count, m.avg_price, m.sales, pg_timestamp(r.fetched_at), r.run_id));
}

const std::vector<std::string>& failure_columns() {
  static const std::vector<std::string> columns = {"run_id", "project", "environment", "window_name", "window_from",
                                                   "segment", "attempts", "last_http_status", "error"};
  return columns;
}

const std::vector<std::string>& finding_columns() {
  static const std::vector<std::string> columns = {
      "run_id",     "snapshot_at", "project",  "environment", "window_name", "window_from", "segment",
      "check_name", "severity",    "metric",   "observed",    "expected",    "message"};
  return columns;
}

std::optional<std::string> double_text(const std::optional<double>& v) {
  if (!v) return std::nullopt;
  return exact_double_text(*v);
}

bool is_timestamp_column(const std::string& c) {
  return c == "snapshot_at" || c == "window_from" || c == "window_to" || c == "fetched_at";
}
bool is_decimal_column(const std::string& c) { return c == "avg_payment_count" || c == "avg_price" || c == "sales"; }

}  // namespace

std::string pg_timestamp(UnixSeconds t) { return format_sql_timestamp(t) + "+00"; }

std::optional<std::string> pg_timestamp(const std::optional<UnixSeconds>& t) {
  if (!t) return std::nullopt;
  return pg_timestamp(*t);
}

bool is_data_error(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  return state.compare(0, 2, "22") == 0 || state.compare(0, 2, "23") == 0;
}

void copy_metrics(pqxx::transaction_base& tx, const std::string& table, const std::vector<const MetricsRow*>& rows,
                  std::size_t begin, std::size_t end) {
  pqxx::stream_to copy(tx, table, metrics_columns());
  for (std::size_t i = begin; i < end; ++i) copy << copy_tuple(*rows[i]);
  copy.complete();
}

std::string upsert_metrics_from(const std::string& table) {
  std::string set;
  for (const auto& c : metrics_update_columns()) {
    if (!set.empty()) set += ", ";
    set += c + " = EXCLUDED." + c;
  }
  const std::string columns = join_columns(metrics_columns());
  return "INSERT INTO customer_metrics (" + columns + ") SELECT " + columns + " FROM " + table + " ON CONFLICT (" +
         join_columns(metrics_key_columns()) + ") DO UPDATE SET " + set;
}

void copy_failures(pqxx::transaction_base& tx, const std::string& table, const std::vector<CellFailure>& failures,
                   std::size_t begin, std::size_t end) {
  pqxx::stream_to copy(tx, table, failure_columns());
  for (std::size_t i = begin; i < end; ++i) {
    const CellFailure& f = failures[i];
    const std::optional<std::string> status =
        f.last_http_status ? std::optional<std::string>(std::to_string(*f.last_http_status)) : std::nullopt;
    copy << std::make_tuple(f.run_id, f.project, std::to_string(f.environment), f.window_name,
                            pg_timestamp(f.window_from), f.segment, std::to_string(f.attempts), status, f.error);
  }
  copy.complete();
}

std::string upsert_failures_from(const std::string& table) {
  const std::string columns = join_columns(failure_columns());
  return "INSERT INTO etl_cell_failures (" + columns + ") SELECT " + columns + " FROM " + table +
         " ON CONFLICT (run_id, project, environment, window_name, window_from, segment) DO UPDATE "
         "SET attempts = EXCLUDED.attempts, last_http_status = EXCLUDED.last_http_status, error = EXCLUDED.error";
}

std::vector<CellFailure> last_failure_per_cell(const std::vector<CellFailure>& failures) {
  using Key = std::tuple<std::string, std::string, int, std::string, UnixSeconds, std::string>;
  std::map<Key, std::size_t> slot;  // cell -> index into out
  std::vector<CellFailure> out;
  for (const CellFailure& f : failures) {
    const auto [it, inserted] =
        slot.emplace(Key{f.run_id, f.project, f.environment, f.window_name, f.window_from, f.segment}, out.size());
    if (inserted) {
      out.push_back(f);
    } else {
      out[it->second] = f;
    }
  }
  return out;
}

void copy_findings(pqxx::transaction_base& tx, const std::vector<DataCheckFinding>& findings) {
  pqxx::stream_to copy(tx, "etl_data_checks", finding_columns());
  for (const DataCheckFinding& f : findings) {
    copy << std::make_tuple(f.run_id, pg_timestamp(f.snapshot_at), f.project, std::to_string(f.environment),
                            f.window_name, pg_timestamp(f.window_from), f.segment, f.check_name, f.severity, f.metric,
                            double_text(f.observed), double_text(f.expected), f.message);
  }
  copy.complete();
}

std::string metrics_select_list(const std::string& alias) {
  std::string out;
  for (const std::string& c : metrics_columns()) {
    if (!out.empty()) out += ", ";
    const std::string column = alias + "." + c;
    if (is_timestamp_column(c)) {
      out += "EXTRACT(EPOCH FROM " + column + ")::bigint";
    } else if (is_decimal_column(c)) {
      out += column + "::text";
    } else {
      out += column;
    }
  }
  return out;
}

MetricsRow read_metrics_row(const pqxx::row& row) {
  MetricsRow r;
  pqxx::row::size_type i = 0;
  r.snapshot_at = row[i++].as<UnixSeconds>();
  r.project = row[i++].as<std::string>();
  r.environment = row[i++].as<int>();
  r.window_name = row[i++].as<std::string>();
  r.window_kind = row[i++].as<std::string>();
  r.window_from = row[i++].as<UnixSeconds>();
  r.window_to = row[i++].as<UnixSeconds>();
  r.segment = row[i++].as<std::string>();
  for (auto& d : r.dimensions) {
    const pqxx::field f = row[i++];
    if (!f.is_null()) d = f.as<std::string>();
  }
  Metrics& m = r.metrics;
  m.clients_with_event = row[i++].as<std::int64_t>();
  m.active_subscribers = row[i++].as<std::int64_t>();
  m.active_trials = row[i++].as<std::int64_t>();
  m.billing_retry = row[i++].as<std::int64_t>();
  m.churned_subscribers = row[i++].as<double>();
  m.canceled_trials = row[i++].as<double>();
  m.avg_payment_count = row[i++].as<std::string>();
  m.avg_price = row[i++].as<std::string>();
  m.sales = row[i++].as<std::string>();
  r.fetched_at = row[i++].as<UnixSeconds>();
  r.run_id = row[i++].as<std::string>();
  return r;
}

}  // namespace qetl
