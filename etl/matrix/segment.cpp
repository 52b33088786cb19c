#include <algorithm>

#include "matrix/matrix.hpp"

namespace qetl {

std::string segment_text(const std::vector<CellFilter>& filters) {
  if (filters.empty()) return "all";
  std::vector<const CellFilter*> sorted;
  sorted.reserve(filters.size());
  for (const CellFilter& f : filters) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const CellFilter* a, const CellFilter* b) { return a->dimension < b->dimension; });

  std::string out;
  for (const CellFilter* f : sorted) {
    if (!out.empty()) out += ';';
    out += f->dimension;
    out += '=';
    // Only the separators (and the escape character itself) are encoded, so ordinary labels
    // stay readable in SQL: country=US;target_platform=iOS.
    for (char c : f->label) {
      switch (c) {
        case '%': out += "%25"; break;
        case ';': out += "%3B"; break;
        case '=': out += "%3D"; break;
        default: out += c;
      }
    }
  }
  return out;
}

}  // namespace qetl
