#pragma once
// Commits finished cells in batches as the run goes, by count or by age — the age is checked on
// every tick of the fetch loop, so rows that arrived before a long wait (a backoff, a
// Retry-After) are committed during it, not after. A crash or kill loses at most the last few
// seconds of answers, never a committed row, and never leaves half a batch. It reports what
// each commit really stored: the run's figures count a cell as stored only then.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "util/clock.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {

// What one flush committed, by the `cell` numbers the rows were added with.
struct CommitOutcome {
  std::vector<std::size_t> stored;                            // cells whose row is committed
  std::vector<std::pair<std::size_t, std::string>> refused;  // cells whose row the warehouse refused, and why
  std::size_t rows_written = 0;
};

class RowBatcher {
 public:
  // `on_commit` is called after every commit of rows; it may add failures (they are written by
  // the same flush, after the rows).
  RowBatcher(Warehouse& warehouse, std::size_t max_rows, std::chrono::milliseconds max_age, const Clock& clock,
             std::function<void(const CommitOutcome&)> on_commit);

  void add_row(std::size_t cell, MetricsRow row);
  void add_failure(CellFailure failure);
  // Writes when the batch is full or its oldest entry has waited max_age.
  void flush_if_due();
  // Writes everything pending. Throws WarehouseError when the warehouse fails; what was
  // committed before stays committed and counted.
  void flush();

  std::size_t rows_upserted() const { return rows_upserted_; }
  std::size_t pending() const { return rows_.size() + failures_.size(); }

 private:
  void note_first_entry();

  Warehouse& warehouse_;
  std::size_t max_rows_;
  Duration max_age_;
  const Clock& clock_;
  std::function<void(const CommitOutcome&)> on_commit_;
  std::vector<MetricsRow> rows_;
  std::vector<std::size_t> row_cells_;  // the cell of each row, same index
  std::vector<CellFailure> failures_;
  SteadyTime oldest_{};
  std::size_t rows_upserted_ = 0;
  bool flushing_ = false;
};

}  // namespace qetl
