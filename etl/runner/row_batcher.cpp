#include "runner/row_batcher.hpp"

namespace qetl {

void RowBatcher::note_first_entry() {
  if (rows_.empty() && failures_.empty()) oldest_ = std::chrono::steady_clock::now();
}

void RowBatcher::add_row(MetricsRow row) {
  note_first_entry();
  rows_.push_back(std::move(row));
  flush_if_due();
}

void RowBatcher::add_failure(CellFailure failure) {
  note_first_entry();
  failures_.push_back(std::move(failure));
  flush_if_due();
}

void RowBatcher::flush_if_due() {
  if (rows_.empty() && failures_.empty()) return;
  if (rows_.size() + failures_.size() >= max_rows_ || std::chrono::steady_clock::now() - oldest_ >= max_age_) flush();
}

void RowBatcher::flush() {
  if (!rows_.empty()) {
    rows_upserted_ += warehouse_.upsert_metrics(rows_).rows_written;
    rows_.clear();
  }
  if (!failures_.empty()) {
    warehouse_.record_failures(failures_);
    failures_.clear();
  }
}

}  // namespace qetl
