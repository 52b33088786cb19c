#include "warehouse/metrics_columns.hpp"

#include <charconv>
#include <map>
#include <tuple>

namespace qetl {

const std::vector<std::string>& metrics_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c = {"snapshot_at", "project",     "environment", "window_name",
                                  "window_kind", "window_from", "window_to",   "segment"};
    for (std::string_view d : kDimensions) c.emplace_back(d);
    for (const char* m : {"clients_with_event", "active_subscribers", "active_trials", "billing_retry",
                          "churned_subscribers", "canceled_trials", "avg_payment_count", "avg_price", "sales",
                          "fetched_at", "run_id"}) {
      c.emplace_back(m);
    }
    return c;
  }();
  return columns;
}

const std::vector<std::string>& metrics_key_columns() {
  static const std::vector<std::string> columns = {"project",     "environment", "snapshot_at",
                                                   "window_name", "window_from", "segment"};
  return columns;
}

const std::vector<std::string>& metrics_update_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c;
    const auto& key = metrics_key_columns();
    for (const auto& column : metrics_columns()) {
      bool is_key = false;
      for (const auto& k : key) is_key = is_key || k == column;
      if (!is_key) c.push_back(column);
    }
    return c;
  }();
  return columns;
}

std::string join_columns(const std::vector<std::string>& columns, const std::string& prefix,
                         const std::string& suffix) {
  std::string out;
  for (const auto& c : columns) {
    if (!out.empty()) out += ", ";
    out += prefix + c + suffix;
  }
  return out;
}

std::vector<const MetricsRow*> last_row_per_key(const std::vector<MetricsRow>& rows) {
  using Key = std::tuple<const std::string&, int, UnixSeconds, const std::string&, UnixSeconds, const std::string&>;
  std::map<Key, std::size_t> slot;  // key -> index into out
  std::vector<const MetricsRow*> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    Key key{row.project, row.environment, row.snapshot_at, row.window_name, row.window_from, row.segment};
    auto [it, inserted] = slot.emplace(key, out.size());
    if (inserted) {
      out.push_back(&row);
    } else {
      out[it->second] = &row;
    }
  }
  return out;
}

std::string exact_double_text(double value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

}  // namespace qetl
