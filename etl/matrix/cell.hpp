#pragma once
// A cell is one request: one project, environment, window bucket and filter combination.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace qetl {

struct CellFilter {
  std::string dimension;           // one of kDimensions
  std::string label;               // value or group name, stored in the dimension's column
  std::vector<std::string> values; // sent to the API (one for "search")
};

// The filters of one combination, shared (read-only) by every cell that has them: a plan of
// 100,000 cells holds each combination's filters once instead of once per cell.
class CellFilters {
 public:
  CellFilters() = default;
  CellFilters(std::vector<CellFilter> filters)  // NOLINT: implicit, reads like the vector it holds
      : filters_(std::make_shared<const std::vector<CellFilter>>(std::move(filters))) {}

  const std::vector<CellFilter>& all() const { return filters_ ? *filters_ : none(); }
  std::vector<CellFilter>::const_iterator begin() const { return all().begin(); }
  std::vector<CellFilter>::const_iterator end() const { return all().end(); }
  std::size_t size() const { return all().size(); }
  bool empty() const { return all().empty(); }
  const CellFilter& operator[](std::size_t i) const { return all()[i]; }

 private:
  static const std::vector<CellFilter>& none();
  std::shared_ptr<const std::vector<CellFilter>> filters_;
};

struct Cell {
  std::size_t project_index = 0;  // into Config::projects
  std::string project;
  int environment = 1;
  std::string window_name;
  WindowKind window_kind = WindowKind::fixed;
  UnixSeconds window_from = 0;
  UnixSeconds window_to = 0;
  CellFilters filters;              // sorted by dimension name, at most one per dimension
  std::string segment;              // canonical text of the filters, "all" when none
};

const char* to_string(WindowKind kind);

}  // namespace qetl
