#include "runner/row_batcher.hpp"

#include <set>

namespace qetl {

RowBatcher::RowBatcher(Warehouse& warehouse, std::size_t max_rows, std::chrono::milliseconds max_age,
                       const Clock& clock, std::function<void(const CommitOutcome&)> on_commit)
    : warehouse_(warehouse),
      max_rows_(max_rows),
      max_age_(std::chrono::duration_cast<Duration>(max_age)),
      clock_(clock),
      on_commit_(std::move(on_commit)) {}

void RowBatcher::note_first_entry() {
  if (rows_.empty() && failures_.empty()) oldest_ = clock_.now();
}

void RowBatcher::add_row(std::size_t cell, MetricsRow row) {
  note_first_entry();
  rows_.push_back(std::move(row));
  row_cells_.push_back(cell);
  flush_if_due();
}

void RowBatcher::add_failure(CellFailure failure) {
  note_first_entry();
  failures_.push_back(std::move(failure));
  flush_if_due();
}

void RowBatcher::flush_if_due() {
  if (flushing_ || (rows_.empty() && failures_.empty())) return;
  if (rows_.size() + failures_.size() >= max_rows_ || clock_.now() - oldest_ >= max_age_) flush();
}

void RowBatcher::flush() {
  // on_commit_ may add failures; they are written below, not by a flush nested in this one.
  struct Guard {
    bool& flag;
    explicit Guard(bool& f) : flag(f) { flag = true; }
    ~Guard() { flag = false; }
  } guard(flushing_);
  if (!rows_.empty()) {
    const UpsertResult result = warehouse_.upsert_metrics(rows_);
    CommitOutcome outcome;
    outcome.rows_written = result.rows_written;
    std::set<std::size_t> refused_rows;
    for (const RefusedRow& r : result.refused) {
      refused_rows.insert(r.index);
      outcome.refused.emplace_back(row_cells_.at(r.index), r.reason);
    }
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      if (refused_rows.count(i) == 0) outcome.stored.push_back(row_cells_[i]);
    }
    rows_upserted_ += result.rows_written;
    rows_.clear();
    row_cells_.clear();
    if (on_commit_) on_commit_(outcome);
  }
  if (!failures_.empty()) {
    warehouse_.record_failures(failures_);
    failures_.clear();
  }
}

}  // namespace qetl
