#pragma once
// What `plan` prints: one line per cell and a closing line with the count and the time the
// fetch will take at the configured rate.
#include <string>
#include <vector>

#include "config/config.hpp"
#include "matrix/cell.hpp"

namespace qetl::cli {

// The wall time the pacing imposes: projects run side by side, each at its own rate.
double estimated_seconds(const Config& config, const std::vector<Cell>& cells);
// "1h 07m", "3m 20s", "12s"
std::string human_duration(double seconds);

// "<project>\tenv=<n>\t<window> [from .. to)\t<segment>\t<masked URL>"
std::string plan_line(const Config& config, const Cell& cell);
std::string plan_footer(const Config& config, const std::vector<Cell>& cells);

}  // namespace qetl::cli
