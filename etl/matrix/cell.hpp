#pragma once
// A cell is one request: one project, environment, window bucket and filter combination.
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace qetl {

struct CellFilter {
  std::string dimension;           // one of kDimensions
  std::string label;               // value or group name, stored in the dimension's column
  std::vector<std::string> values; // sent to the API (one for "search")
};

struct Cell {
  std::size_t project_index = 0;  // into Config::projects
  std::string project;
  int environment = 1;
  std::string window_name;
  WindowKind window_kind = WindowKind::fixed;
  UnixSeconds window_from = 0;
  UnixSeconds window_to = 0;
  std::vector<CellFilter> filters;  // sorted by dimension name, at most one per dimension
  std::string segment;              // canonical text of the filters, "all" when none
};

const char* to_string(WindowKind kind);

}  // namespace qetl
