#include "matrix/cell.hpp"

namespace qetl {

const char* to_string(WindowKind kind) {
  switch (kind) {
    case WindowKind::fixed: return "fixed";
    case WindowKind::rolling: return "rolling";
    case WindowKind::cohort: return "cohort";
  }
  return "fixed";
}

}  // namespace qetl
