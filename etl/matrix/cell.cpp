#include "matrix/cell.hpp"

namespace qetl {

const std::vector<CellFilter>& CellFilters::none() {
  static const std::vector<CellFilter> empty;
  return empty;
}

const char* to_string(WindowKind kind) {
  switch (kind) {
    case WindowKind::fixed: return "fixed";
    case WindowKind::rolling: return "rolling";
    case WindowKind::cohort: return "cohort";
  }
  return "fixed";
}

}  // namespace qetl
