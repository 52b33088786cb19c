#pragma once
// Commits finished cells in batches as the run goes: a crash or kill loses at most the
// last few seconds of answers, never a committed row, and never leaves half a batch.
#include <chrono>
#include <vector>

#include "warehouse/warehouse.hpp"

namespace qetl {

class RowBatcher {
 public:
  RowBatcher(Warehouse& warehouse, std::size_t max_rows, std::chrono::milliseconds max_age)
      : warehouse_(warehouse), max_rows_(max_rows), max_age_(max_age) {}

  void add_row(MetricsRow row);
  void add_failure(CellFailure failure);
  // Writes when the batch is full or its oldest entry has waited max_age.
  void flush_if_due();
  void flush();

  std::size_t rows_upserted() const { return rows_upserted_; }

 private:
  void note_first_entry();

  Warehouse& warehouse_;
  std::size_t max_rows_;
  std::chrono::milliseconds max_age_;
  std::vector<MetricsRow> rows_;
  std::vector<CellFailure> failures_;
  std::chrono::steady_clock::time_point oldest_{};
  std::size_t rows_upserted_ = 0;
};

}  // namespace qetl
