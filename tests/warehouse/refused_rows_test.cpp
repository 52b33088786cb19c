// No poisoned batch (SPEC "Behaviour under faults"): a row the warehouse refuses for its values
// is reported and the rest of its batch committed; a warehouse that refuses the work itself
// (a timeout, a held lock) commits nothing of the call and says so with WarehouseError.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "util/errors.hpp"
#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace qetl::test {
namespace {

using ::testing::HasSubstr;

const UnixSeconds kSnapshot = parse_utc_timestamp("2024-03-10");

MetricsRow row(int n) {
  MetricsRow r;
  r.snapshot_at = kSnapshot;
  r.project = "my-app";
  r.window_name = "all_time";
  r.window_kind = "fixed";
  r.window_from = parse_utc_timestamp("2015-01-01");
  r.window_to = kSnapshot;
  r.segment = "country=C" + std::to_string(n);
  r.dimensions[*dimension_index("country")] = "C" + std::to_string(n);
  r.metrics = {100 + n, 10, 1, 0, 1.5, 2.5, "1.5", "9.99", std::to_string(n) + ".25"};
  r.fetched_at = kSnapshot + 60;
  r.run_id = "run-1";
  return r;
}

std::vector<MetricsRow> batch(int n) {
  std::vector<MetricsRow> rows;
  for (int i = 0; i < n; ++i) rows.push_back(row(i));
  return rows;
}

std::vector<std::size_t> indexes(const UpsertResult& r) {
  std::vector<std::size_t> out;
  for (const auto& refused : r.refused) out.push_back(refused.index);
  return out;
}

template <class Backend>
class RefusedRowsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Warehouse> migrated() {
    auto w = backend.open();
    w->migrate();
    return w;
  }
  std::vector<std::string> stored_segments() {
    std::vector<std::string> out;
    for (const auto& r : backend.query("SELECT segment FROM customer_metrics ORDER BY segment")) out.push_back(*r[0]);
    return out;
  }
  static std::vector<std::string> segments_of(const std::vector<MetricsRow>& rows, const std::vector<std::size_t>& skip) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (std::find(skip.begin(), skip.end(), i) == skip.end()) out.push_back(rows[i].segment);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Backend backend;
};

TYPED_TEST_SUITE(RefusedRowsTest, Backends, BackendNames);

TYPED_TEST(RefusedRowsTest, EveryRefusedRowOfALargeBatchIsReportedAndEveryOtherStored) {
  auto w = this->migrated();
  std::vector<MetricsRow> rows = batch(1000);
  const std::vector<std::size_t> bad = {0, 1, 417, 418, 731, 999};
  for (const std::size_t i : bad) rows[i].metrics.avg_price = "n/a";
  const UpsertResult result = w->upsert_metrics(rows);
  EXPECT_EQ(result.rows_written, 994u);
  EXPECT_EQ(indexes(result), bad);
  for (const auto& refused : result.refused) EXPECT_THAT(refused.reason, HasSubstr("avg_price"));
  EXPECT_EQ(this->stored_segments(), this->segments_of(rows, bad));
}

TYPED_TEST(RefusedRowsTest, ABatchOfOnlyRefusedRowsStoresNothingAndThrowsNothing) {
  auto w = this->migrated();
  std::vector<MetricsRow> rows = batch(3);
  for (auto& r : rows) r.window_kind = "weekly";
  const UpsertResult result = w->upsert_metrics(rows);
  EXPECT_EQ(result.rows_written, 0u);
  EXPECT_EQ(indexes(result), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_TRUE(this->stored_segments().empty());
}

TYPED_TEST(RefusedRowsTest, ARefusedRowNeverOverwritesTheStoredRowOfItsCell) {
  auto w = this->migrated();
  ASSERT_EQ(w->upsert_metrics(batch(3)).rows_written, 3u);
  std::vector<MetricsRow> rerun = batch(3);
  for (auto& r : rerun) r.metrics.clients_with_event = 7;
  rerun[1].metrics.sales = "12,5";
  const UpsertResult result = w->upsert_metrics(rerun);
  EXPECT_EQ(result.rows_written, 2u);
  EXPECT_EQ(indexes(result), (std::vector<std::size_t>{1}));
  EXPECT_EQ(this->backend.query("SELECT segment, clients_with_event FROM customer_metrics ORDER BY segment"),
            (Rows{{Value("country=C0"), Value("7")}, {Value("country=C1"), Value("101")}, {Value("country=C2"), Value("7")}}));
}

// The index of a refused row is into the rows passed in, duplicates of a cell included.
TYPED_TEST(RefusedRowsTest, TheIndexOfARefusedDuplicateIsThatOfTheOccurrenceWritten) {
  auto w = this->migrated();
  std::vector<MetricsRow> rows = batch(3);
  MetricsRow later = rows[0];
  later.metrics.sales = "12,5";
  rows.push_back(later);  // the last occurrence of cell 0 wins, and is refused
  const UpsertResult result = w->upsert_metrics(rows);
  EXPECT_EQ(result.rows_written, 2u);
  EXPECT_EQ(indexes(result), (std::vector<std::size_t>{3}));
}

// What PostgreSQL's text type cannot hold: a NUL byte, or bytes that are not UTF-8. COPY refuses
// them (it never cuts the text short), and only that row is lost.
TEST(RefusedRowsPostgres, NulBytesAndInvalidUtf8InTextAreRefusedAndTheOthersStored) {
  PostgresBackend backend;
  auto w = backend.open();
  w->migrate();
  std::vector<MetricsRow> rows = batch(5);
  rows[1].dimensions[*dimension_index("campaign_name")] = std::string("spring\0sale", 11);
  rows[3].segment = "country=\xC3\x28";
  const UpsertResult result = w->upsert_metrics(rows);
  EXPECT_EQ(result.rows_written, 3u);
  ASSERT_EQ(indexes(result), (std::vector<std::size_t>{1, 3}));
  for (const auto& refused : result.refused) {
    EXPECT_THAT(refused.reason, HasSubstr("invalid byte sequence for encoding \"UTF8\""));
    EXPECT_EQ(refused.reason.find('\n'), std::string::npos);
  }
  EXPECT_EQ(backend.query("SELECT segment FROM customer_metrics ORDER BY segment"),
            (Rows{{Value("country=C0")}, {Value("country=C2")}, {Value("country=C4")}}));
}

TEST(RefusedRowsPostgres, ARefusedFailureIsStoredWithTheDatabasesReasonAndTheOthersAsTheyAre) {
  PostgresBackend backend;
  auto w = backend.open();
  w->migrate();
  const UnixSeconds from = parse_utc_timestamp("2015-01-01");
  std::vector<CellFailure> failures = {
      {"run-1", "my-app", 1, "all_time", from, "all", 5, 429, "HTTP 429 after 5 attempts"},
      {"run-1", "my-app", 1, "all_time", from, "country=US", 1, 400, std::string("bad filter \0 echoed", 19)},
      {"run-1", "my-app", 1, "all_time", from, "country=\xff", 1, 400, "a cell that cannot be stored at all"},
      {"run-1", "my-app", 0, "all_time", from, "all", 3, std::nullopt, "timeout after 30 s"},
  };
  w->record_failures(failures);
  const Rows got = backend.query("SELECT environment, segment, error FROM etl_cell_failures ORDER BY environment, segment");
  ASSERT_EQ(got.size(), 3u) << "the cell whose own name cannot be stored is the only one missing";
  EXPECT_EQ(got[0], (std::vector<Value>{"0", "all", "timeout after 30 s"}));
  EXPECT_EQ(got[1], (std::vector<Value>{"1", "all", "HTTP 429 after 5 attempts"}));
  EXPECT_EQ(got[2][1], "country=US");
  EXPECT_THAT(*got[2][2], HasSubstr("invalid byte sequence for encoding \"UTF8\": 0x00"));
}

// PostgreSQL gives up on the statement (statement_timeout, lock_timeout) while another session
// holds a row of the batch: that is the warehouse failing, not a row, so nothing of the call is
// committed. The other session never lets go during the call, so the outcome does not depend on
// timing.
TEST(RefusedRowsPostgres, ATimeoutThrowsAndCommitsNothingOfTheBatch) {
  for (const std::string setting : {"statement_timeout", "lock_timeout"}) {
    PostgresBackend backend;
    backend.open()->migrate();
    ASSERT_EQ(backend.open()->upsert_metrics({row(0)}).rows_written, 1u);

    pqxx::connection blocker(PgTestDatabase::instance().conninfo());
    blocker.set_variable("search_path", kTestSchema);
    pqxx::work hold(blocker);
    hold.exec("SELECT 1 FROM customer_metrics WHERE segment = 'country=C0' FOR UPDATE");

    const std::string url = backend.url() + (backend.url().find('?') == std::string::npos ? "?" : "&") +
                            "options=-c%20" + setting + "%3D300";
    auto w = open_warehouse(url, kTestSchema);
    std::vector<MetricsRow> rows = batch(4);
    rows[0].metrics.clients_with_event = 999;
    try {
      w->upsert_metrics(rows);
      ADD_FAILURE() << "no error while a row was locked, with " << setting;
    } catch (const WarehouseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(setting == "statement_timeout" ? "statement timeout" : "lock timeout"));
    }
    hold.abort();
    EXPECT_EQ(backend.query("SELECT segment, clients_with_event FROM customer_metrics"),
              (Rows{{Value("country=C0"), Value("100")}}))
        << setting;
  }
}

// A BI reader's long BEGIN IMMEDIATE holds SQLite's write lock past the busy timeout.
TEST(RefusedRowsSqlite, AHeldWriteLockThrowsAndCommitsNothingOfTheBatch) {
  SqliteBackend backend;
  backend.open()->migrate();
  auto w = open_sqlite_warehouse(backend.url(), WarehouseAccess::read_write, std::chrono::milliseconds(0));
  {
    SQLite::Database reader(backend.path(), SQLite::OPEN_READWRITE);
    reader.exec("BEGIN IMMEDIATE");
    try {
      w->upsert_metrics(batch(3));
      ADD_FAILURE() << "no error while another connection held the write lock";
    } catch (const WarehouseError& e) {
      EXPECT_THAT(e.what(), HasSubstr("database is locked"));
    }
    try {
      w->record_failures({{"run-1", "my-app", 1, "all_time", 0, "all", 1, 400, "x"}});
      ADD_FAILURE() << "no error while another connection held the write lock";
    } catch (const WarehouseError& e) {
      EXPECT_THAT(e.what(), HasSubstr("database is locked"));
    }
    reader.exec("ROLLBACK");
  }
  EXPECT_EQ(backend.query("SELECT COUNT(*) FROM customer_metrics"), (Rows{{Value("0")}}));
  EXPECT_EQ(backend.query("SELECT COUNT(*) FROM etl_cell_failures"), (Rows{{Value("0")}}));
  EXPECT_EQ(w->upsert_metrics(batch(3)).rows_written, 3u) << "usable again once the lock is gone";
}

}  // namespace
}  // namespace qetl::test
