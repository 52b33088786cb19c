#pragma once
// A finding about one current cell, and how its numbers read in a message. Private to the
// checks module.
#include <string>

#include "checks/check_tables.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl::checks_detail {

// A finding with the cell's identity (snapshot, project, environment, window, segment) filled
// in; observed, expected and message are the caller's.
DataCheckFinding finding_for(const CheckTables& tables, const CurrentCell& cell, const std::string& run_id,
                             const char* check_name, const char* severity, const char* metric);

// 1250 -> "1250", 1010.5 -> "1010.5": counts read as integers, bounds without trailing zeros.
std::string number_text(double value);

}  // namespace qetl::checks_detail
