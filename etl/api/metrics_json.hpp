#pragma once
// JSON body of a 200 answer -> Metrics. Pure; the error text says what was wrong so that a
// failed cell explains itself in etl_cell_failures.
#include <optional>
#include <string>
#include <string_view>

#include "model/metrics.hpp"

namespace qetl {

struct MetricsParse {
  std::optional<Metrics> metrics;  // set on success
  std::string error;               // set on failure, e.g. "data.activeSubscribers: \"lots\" is not a number"
};

// Accepts the documented body {"data": {...nine fields...}}. Numbers may also arrive as
// numeric strings ("1284"); unknown fields are ignored. Counts must be whole numbers in
// 0..2^63-1, percentages 0..100, decimals finite with magnitude below 1e15; decimals keep
// the exact text they were sent with.
MetricsParse parse_metrics_body(std::string_view body);

// The human-readable message of an error body: {"message": ...} (with "errors" details
// appended), {"error": {"message": ...}}; for anything else (HTML, empty, not JSON) a short
// printable excerpt of the body. Never throws.
std::string api_error_message(std::string_view body);

}  // namespace qetl
