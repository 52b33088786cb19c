// Runs whose process is gone (SIGKILL, a power cut) do not stay `running` in etl_runs forever:
// the next run of their scope, holding that scope's locks, closes them (SPEC "Warehouse tables").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"

namespace qetl::test {
namespace {

const UnixSeconds kSnapshot = parse_utc_timestamp("2026-11-24");

RunRecord run(const std::string& id, const std::vector<std::string>& projects, const std::string& shard) {
  RunRecord r;
  r.run_id = id;
  r.started_at = r.snapshot_at = kSnapshot;
  r.version = "test";
  r.config_sha256 = "0";
  r.host = "h";
  r.projects = projects;
  r.shard = shard;
  return r;
}

LockHolder me() {
  LockHolder h;
  h.host = "h";
  h.pid = ::getpid();
  h.started_at = kSnapshot;
  return h;
}

// A child process that records a `running` run and is killed by SIGKILL: nothing of its own
// clean-up runs, as when the OOM killer or a power cut ends a night.
template <class Backend>
void run_killed_midway(const Backend& backend, const RunRecord& record) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    char status = 'x';
    try {
      auto w = backend.open();
      w->start_run(record);
      status = 'S';
    } catch (...) {
    }
    if (::write(fds[1], &status, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  char status = 0;
  const bool started = ::read(fds[0], &status, 1) == 1 && status == 'S';
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (!started) throw std::runtime_error("the child could not start its run");
}

template <class Backend>
class StaleRunsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Warehouse> migrated() {
    auto w = backend.open();
    w->migrate();
    return w;
  }
  // run_id -> status, for every row.
  Rows statuses() { return backend.query("SELECT run_id, status FROM etl_runs ORDER BY run_id"); }

  Backend backend;
};

TYPED_TEST_SUITE(StaleRunsTest, Backends, BackendNames);

TYPED_TEST(StaleRunsTest, FiveKilledRunsAreClosedByTheNextRunOfTheirScope) {
  auto w = this->migrated();
  std::vector<std::string> killed;
  for (int i = 1; i <= 5; ++i) {
    killed.push_back("killed-" + std::to_string(i));
    run_killed_midway(this->backend, run(killed.back(), {"alpha"}, "all"));
  }
  // (That the killed runs' locks went with them is RunLockTest's business.)
  const RunRecord next = run("next", {"alpha"}, "all");
  w->start_run(next);
  std::vector<std::string> closed = w->close_stale_runs(next);
  std::sort(closed.begin(), closed.end());
  EXPECT_EQ(closed, killed);

  const Rows rows = this->backend.query("SELECT run_id, status, message, " + TypeParam::ts("finished_at") +
                                        " FROM etl_runs WHERE run_id <> 'next' ORDER BY run_id");
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& r : rows) {
    EXPECT_EQ(r[1], "interrupted") << *r[0];
    EXPECT_EQ(r[2], "process gone: found still running by run next") << *r[0];
    ASSERT_TRUE(r[3].has_value()) << *r[0];
    EXPECT_LE(std::abs(parse_utc_timestamp(*r[3]) - now_utc()), 300) << *r[3];
  }
  EXPECT_EQ(this->backend.query("SELECT status, finished_at FROM etl_runs WHERE run_id = 'next'"),
            (Rows{{Value("running"), std::nullopt}}))
      << "the finder's own row is never touched";
  EXPECT_TRUE(w->close_stale_runs(next).empty()) << "closed once";
}

TYPED_TEST(StaleRunsTest, OnlyRowsThatShareAProjectAndAnOverlappingShardAreClosed) {
  auto w = this->migrated();
  const std::vector<RunRecord> rows = {
      run("alpha-all", {"alpha"}, "all"),         run("alpha-1of3", {"alpha"}, "1/3"),
      run("alpha-2of3", {"alpha"}, "2/3"),        run("alpha-1of2", {"alpha"}, "1/2"),
      run("beta-1of3", {"beta"}, "1/3"),          run("both-all", {"beta", "alpha"}, "all"),
      run("unknown-scope", {}, "all"),
  };
  for (const RunRecord& r : rows) w->start_run(r);
  RunRecord done = run("alpha-finished", {"alpha"}, "1/3");
  w->start_run(done);
  done.status = "succeeded";
  done.finished_at = kSnapshot + 60;
  w->finish_run(done);

  const RunRecord finder = run("finder", {"alpha", "gamma"}, "1/3");
  auto lock = w->try_lock_run(finder.projects, finder.shard, me());
  std::vector<std::string> closed = w->close_stale_runs(finder);
  std::sort(closed.begin(), closed.end());
  EXPECT_EQ(closed, (std::vector<std::string>{"alpha-1of2", "alpha-1of3", "alpha-all", "both-all"}));
  EXPECT_EQ(this->statuses(), (Rows{{Value("alpha-1of2"), Value("interrupted")},
                                    {Value("alpha-1of3"), Value("interrupted")},
                                    {Value("alpha-2of3"), Value("running")},
                                    {Value("alpha-all"), Value("interrupted")},
                                    {Value("alpha-finished"), Value("succeeded")},
                                    {Value("beta-1of3"), Value("running")},
                                    {Value("both-all"), Value("interrupted")},
                                    {Value("unknown-scope"), Value("running")}}));
}

}  // namespace
}  // namespace qetl::test
