// A whole run in simulated time against a real SQLite file: when rows are committed, what the
// run's figures count, and how a stop signal at the very end is honoured.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>

#include "common/temp_dir.hpp"
#include "runner/run_job.hpp"
#include "unit/runner/simulated_api.hpp"
#include "warehouse/warehouse.hpp"

namespace qetl {
namespace {

using namespace std::chrono_literals;
using test::SimReply;
using test::SimRequest;
using test::SimulatedApi;
using test::SimulatedClock;

const std::string kKey = "key_alpha_0123456789";

class RunJobTest : public ::testing::Test {
 protected:
  RunJobTest() : db_path_(dir_.file("metrics.sqlite")) {
    config_.projects.push_back(ProjectConfig{"alpha", {}, {1}, {}});
    config_.api.base_url = "https://api.example/v1/analytics";
    config_.api.requests_per_minute = 600;
    config_.api.concurrency = 1;
    config_.api.max_attempts = 3;
    warehouse_ = open_warehouse("sqlite://" + db_path_, "");
    warehouse_->migrate();
  }

  RunRequest request(int cells) {
    RunRequest r;
    r.config = &config_;
    r.api_keys = {kKey};
    r.snapshot_at = 1795000000 - 1795000000 % 86400;
    for (int i = 0; i < cells; ++i) {
      Cell c;
      c.project = "alpha";
      c.window_name = "all_time";
      c.window_from = 1735689600;
      c.window_to = r.snapshot_at;
      c.filters = std::vector<CellFilter>{{"country", "C" + std::to_string(i), {"C" + std::to_string(i)}}};
      c.segment = "country=C" + std::to_string(i);
      r.cells.push_back(c);
    }
    r.clock = &clock_;
    return r;
  }

  // Rows in customer_metrics, read through a connection of its own (what a BI reader sees).
  int stored_rows() {
    SQLite::Database db(db_path_, SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM customer_metrics").getInt();
  }

  test::TempDir dir_;
  std::string db_path_;
  Config config_;
  std::unique_ptr<Warehouse> warehouse_;
  SimulatedClock clock_;
};

TEST_F(RunJobTest, RowsThatArrivedAreCommittedWhileTheRunWaits) {
  // Cell 0 is answered at once; cell 1 earns a 429 with Retry-After 120. During those two
  // minutes cell 0's row must reach the warehouse (batch age 5 s), not wait for the next answer.
  int rows_seen_during_wait = -1;
  SimulatedApi api(clock_, [&](const SimRequest& r) {
    if (r.number == 1) {
      SimReply reply = test::status_reply(429);
      reply.result.retry_after_seconds = 120;
      return reply;
    }
    if (r.number == 2) rows_seen_during_wait = stored_rows();
    return test::ok_reply();
  });
  RunRequest req = request(2);
  req.transport = &api;
  const std::atomic<int> stop{0};
  const RunSummary s = run_job(req, *warehouse_, stop);
  EXPECT_EQ(s.exit_code, ExitCode::ok);
  EXPECT_EQ(rows_seen_during_wait, 1);
  EXPECT_EQ(stored_rows(), 2);
}

TEST_F(RunJobTest, FiguresCountOnlyWhatWasCommitted) {
  // The warehouse breaks after the first commit: the run ends 74 and says 3 cells stored, not 10.
  SimulatedApi api(clock_, [&](const SimRequest& r) {
    SimReply reply = test::ok_reply();
    reply.latency = r.number < 3 ? 100ms : 10s;
    return reply;
  });
  // The first three rows are committed by age (5 s); then the table goes away.
  api.on_deliver = [&](const auto&) {
    if (api.sent.size() == 4) {
      SQLite::Database db(db_path_, SQLite::OPEN_READWRITE);
      db.exec("DROP TABLE IF EXISTS customer_metrics");  // what a broken disk or a careless DBA does
    }
  };
  config_.api.concurrency = 1;
  RunRequest req = request(10);
  req.transport = &api;
  const std::atomic<int> stop{0};
  const RunSummary s = run_job(req, *warehouse_, stop);
  EXPECT_EQ(s.exit_code, ExitCode::warehouse);
  EXPECT_EQ(s.record.cells_succeeded, 3);
  EXPECT_EQ(s.record.rows_upserted, 3);
  EXPECT_EQ(s.cells_by_project.at("alpha").succeeded, 3);
  SQLite::Database db(db_path_, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT status, cells_succeeded, rows_upserted FROM etl_runs");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getString(), "partial");
  EXPECT_EQ(q.getColumn(1).getInt(), 3);
  EXPECT_EQ(q.getColumn(2).getInt(), 3);
}

TEST_F(RunJobTest, AStopSignalDuringTheFinalCommitStillEndsTheRunInterrupted) {
  std::atomic<int> stop{0};
  SimulatedApi api(clock_, [](const SimRequest&) { return test::ok_reply(); });
  // The signal arrives with the last answer, after the loop's last look at the flag.
  api.on_deliver = [&](const auto&) {
    if (api.sent.size() == 3) stop = 15;
  };
  RunRequest req = request(3);
  req.transport = &api;
  const RunSummary s = run_job(req, *warehouse_, stop);
  EXPECT_EQ(s.exit_code, ExitCode::interrupted_sigterm);
  EXPECT_EQ(s.record.status, "interrupted");
  EXPECT_EQ(stored_rows(), 3) << "what arrived is committed all the same";
}

TEST_F(RunJobTest, CellsNeverTriedByAProjectThatGaveUpAreNotRecordedAsFailures) {
  config_.api.give_up_after_seconds = 30;
  config_.api.max_attempts = 100;
  config_.api.requests_per_minute = 30;
  SimulatedApi api(clock_, [](const SimRequest&) { return test::status_reply(503); });
  RunRequest req = request(50);
  req.transport = &api;
  const std::atomic<int> stop{0};
  const RunSummary s = run_job(req, *warehouse_, stop);
  EXPECT_EQ(s.exit_code, ExitCode::api_unreachable);
  SQLite::Database db(db_path_, SQLite::OPEN_READONLY);
  const int failures = db.execAndGet("SELECT count(*) FROM etl_cell_failures").getInt();
  EXPECT_EQ(failures, s.record.cells_failed);
  EXPECT_LT(failures, 50);
  EXPECT_EQ(failures + s.fetch.cells_not_tried, 50);
  EXPECT_NE(s.record.message.find("run --resume"), std::string::npos) << s.record.message;
}

}  // namespace
}  // namespace qetl
