// One run at a time (SPEC "Behaviour under faults", exit 75): Warehouse::try_lock_run against
// SQLite and PostgreSQL alike.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "util/errors.hpp"
#include "util/time.hpp"
#include "warehouse/backend_fixtures.hpp"

namespace qetl::test {
namespace {

LockHolder holder(const std::string& host, std::int64_t pid, const std::string& started) {
  LockHolder h;
  h.host = host;
  h.pid = pid;
  h.started_at = parse_utc_timestamp(started);
  return h;
}

std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const LockHolder kFirst = holder("h1", 1234, "2026-11-24T03:00:00Z");
const LockHolder kSecond = holder("h2", 5678, "2026-11-24T03:00:05Z");

template <class Backend>
class RunLockTest : public ::testing::Test {
 protected:
  // A run's own connection to the (migrated) warehouse.
  std::unique_ptr<Warehouse> open_migrated() {
    auto w = backend.open();
    w->migrate();
    return w;
  }

  // The LockedError text when `w` cannot take the locks; nullopt when it could (and released them).
  static std::optional<std::string> refusal(Warehouse& w, const std::vector<std::string>& projects,
                                            const std::string& shard, const LockHolder& me = kSecond) {
    try {
      w.try_lock_run(projects, shard, me);
      return std::nullopt;
    } catch (const LockedError& e) {
      EXPECT_EQ(e.code(), ExitCode::locked);
      EXPECT_EQ(static_cast<int>(e.code()), 75);
      return std::string(e.what());
    }
  }

  Backend backend;
};

TYPED_TEST_SUITE(RunLockTest, Backends, BackendNames);

TYPED_TEST(RunLockTest, SecondRunOnTheSameProjectIsRefusedNamingTheHolder) {
  auto first = this->open_migrated();
  const auto lock = first->try_lock_run({"beta", "alpha"}, "all", kFirst);
  ASSERT_NE(lock, nullptr);

  auto second = this->open_migrated();
  EXPECT_EQ(this->refusal(*second, {"alpha"}, "all"),
            "another run holds the lock for project \"alpha\" (host h1, pid 1234, started 2026-11-24T03:00:00Z)");
  EXPECT_EQ(this->refusal(*second, {"gamma", "beta"}, "all"),
            "another run holds the lock for project \"beta\" (host h1, pid 1234, started 2026-11-24T03:00:00Z)");
  // The same warehouse object asking again is refused too (PostgreSQL would let one session
  // stack the same advisory lock).
  EXPECT_TRUE(this->refusal(*first, {"alpha"}, "all").has_value());
}

TYPED_TEST(RunLockTest, DifferentProjectsDoNotConflict) {
  auto first = this->open_migrated();
  const auto all = first->try_lock_run({"alpha"}, "all", kFirst);
  auto other = this->open_migrated();
  const auto beta = other->try_lock_run({"beta", "gamma"}, "all", kSecond);
  ASSERT_NE(beta, nullptr);
  auto sharded = this->open_migrated();
  EXPECT_EQ(this->refusal(*sharded, {"delta"}, "1/2"), std::nullopt);
}

// Two runs of one project conflict whenever their cells can overlap (SPEC "Behaviour under
// faults"): a held lock (first column) against the one asked for (second), each pair on fresh
// connections.
TYPED_TEST(RunLockTest, RunsOfOneProjectConflictExactlyWhenTheirShardsCanShareACell) {
  struct Case {
    const char* held;
    const char* wanted;
    bool conflict;
  };
  const Case cases[] = {
      {"all", "all", true},  {"all", "1/2", true},  {"1/2", "all", true},   {"1/2", "1/3", true},
      {"1/3", "1/2", true},  {"2/4", "1/2", true},  {"1/3", "1/3", true},   {"1/3", "2/3", false},
      {"3/3", "1/3", false}, {"1/2", "2/2", false}, {"01/2", "1/2", true},
  };
  for (const Case& c : cases) {
    auto holder = this->open_migrated();
    const auto held = holder->try_lock_run({"alpha", "beta"}, c.held, kFirst);
    auto other = this->open_migrated();
    const auto refused = this->refusal(*other, {"alpha"}, c.wanted);
    EXPECT_EQ(refused.has_value(), c.conflict) << c.held << " held, " << c.wanted << " wanted";
    if (refused && std::string(c.held) == "all") {
      EXPECT_EQ(*refused,
                "another run holds the lock for project \"alpha\" (host h1, pid 1234, started 2026-11-24T03:00:00Z)");
    } else if (refused) {
      EXPECT_EQ(*refused, std::string("another run holds the lock for project \"alpha\" shard ") + c.held +
                              " (host h1, pid 1234, started 2026-11-24T03:00:00Z)");
    }
  }
}

TYPED_TEST(RunLockTest, EveryShardOfOneCountRunsSideBySideAndAnUnshardedRunWaitsForAll) {
  auto w1 = this->open_migrated();
  auto w2 = this->open_migrated();
  auto w3 = this->open_migrated();
  const auto s1 = w1->try_lock_run({"alpha"}, "1/3", kFirst);
  const auto s2 = w2->try_lock_run({"alpha"}, "2/3", kFirst);
  const auto s3 = w3->try_lock_run({"alpha"}, "3/3", kSecond);
  ASSERT_TRUE(s1 && s2 && s3);
  auto late = this->open_migrated();
  for (const char* shard : {"all", "1/3", "3/3", "1/2", "2/6"}) {
    EXPECT_TRUE(this->refusal(*late, {"alpha"}, shard).has_value()) << shard;
  }
}

TYPED_TEST(RunLockTest, AllOrNothingKeepsNoLockWhenOneIsTaken) {
  auto first = this->open_migrated();
  const auto beta = first->try_lock_run({"beta"}, "all", kFirst);

  auto second = this->open_migrated();
  ASSERT_TRUE(this->refusal(*second, {"alpha", "beta", "gamma"}, "all").has_value());
  // "alpha" was taken before "beta" was found held: it must have been given back.
  auto third = this->open_migrated();
  EXPECT_EQ(this->refusal(*third, {"alpha"}, "all"), std::nullopt);
  EXPECT_EQ(this->refusal(*second, {"alpha", "gamma"}, "all"), std::nullopt);
}

TYPED_TEST(RunLockTest, ReleasingTheLockLetsTheNextRunInAndNamesTheNewHolder) {
  auto first = this->open_migrated();
  auto lock = first->try_lock_run({"alpha"}, "all", kFirst);
  auto second = this->open_migrated();
  ASSERT_TRUE(this->refusal(*second, {"alpha"}, "all").has_value());

  lock.reset();
  const auto next = second->try_lock_run({"alpha"}, "all", kSecond);
  ASSERT_NE(next, nullptr);
  auto third = this->open_migrated();
  EXPECT_EQ(this->refusal(*third, {"alpha"}, "all"),
            "another run holds the lock for project \"alpha\" (host h2, pid 5678, started 2026-11-24T03:00:05Z)");
  // The first warehouse, having let go, is now refused like anyone else.
  EXPECT_TRUE(this->refusal(*first, {"alpha"}, "all").has_value());
}

// A child process takes the lock, reports through a pipe and waits to be killed.
class LockingChild {
 public:
  template <class Backend>
  explicit LockingChild(const Backend& backend, const std::string& shard = "all") {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(fds[0]);
      char status = 'x';
      try {
        auto w = backend.open();
        auto lock = w->try_lock_run({"alpha"}, shard, holder("child-host", ::getpid(), "2026-11-24T03:00:00Z"));
        status = 'L';
        if (::write(fds[1], &status, 1) != 1) ::_exit(3);
        for (;;) ::pause();  // holds the lock until SIGKILL; no destructor ever runs
      } catch (...) {
        if (::write(fds[1], &status, 1) != 1) ::_exit(3);
        ::_exit(2);
      }
    }
    ::close(fds[1]);
    char status = 0;
    locked_ = ::read(fds[0], &status, 1) == 1 && status == 'L';
    ::close(fds[0]);
  }
  ~LockingChild() {
    if (pid_ > 0 && !reaped_) kill_and_reap();
  }
  LockingChild(const LockingChild&) = delete;
  LockingChild& operator=(const LockingChild&) = delete;

  bool locked() const { return locked_; }
  pid_t pid() const { return pid_; }
  // SIGKILL: nothing of the child's cleanup code runs.
  int kill_and_reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool locked_ = false;
  bool reaped_ = false;
};

TYPED_TEST(RunLockTest, LockOfAKilledProcessIsFreeAfterwards) {
  this->open_migrated();
  LockingChild child(this->backend);
  ASSERT_TRUE(child.locked()) << "the child could not take the lock";

  auto w = this->open_migrated();
  const auto held = this->refusal(*w, {"alpha"}, "all");
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(held->find("host child-host, pid " + std::to_string(child.pid()) + ","), std::string::npos) << *held;

  ASSERT_EQ(child.kill_and_reap(), SIGKILL);
  // SQLite: the kernel dropped the flock when the process died. PostgreSQL: the server ends the
  // session when it reads EOF on the dead client's socket, which takes a moment after waitpid;
  // wait for that condition (lock obtainable), bounded.
  std::unique_ptr<RunLock> lock;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int attempts = 0;
  while (lock == nullptr && std::chrono::steady_clock::now() < deadline) {
    ++attempts;
    try {
      lock = w->try_lock_run({"alpha"}, "all", kSecond);
    } catch (const LockedError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_NE(lock, nullptr) << "the killed process's lock was still held after 10 s";
  if (std::string(TypeParam::kName) == "sqlite") {
    EXPECT_EQ(attempts, 1) << "the flock must be gone once waitpid returns";
  }

  // The killed holder's details are gone too: a refused run names the new holder.
  auto third = this->open_migrated();
  EXPECT_EQ(this->refusal(*third, {"alpha"}, "all"),
            "another run holds the lock for project \"alpha\" (host h2, pid 5678, started 2026-11-24T03:00:05Z)");
}

TYPED_TEST(RunLockTest, AShardHeldByAnotherProcessBlocksOnlyOverlappingRuns) {
  this->open_migrated();
  LockingChild child(this->backend, "1/3");
  ASSERT_TRUE(child.locked()) << "the child could not take the lock";
  auto w = this->open_migrated();
  EXPECT_EQ(this->refusal(*w, {"alpha"}, "2/3"), std::nullopt);
  EXPECT_EQ(this->refusal(*w, {"alpha"}, "all"), "another run holds the lock for project \"alpha\" shard 1/3 (host "
                                                  "child-host, pid " + std::to_string(child.pid()) +
                                                  ", started 2026-11-24T03:00:00Z)");
  EXPECT_TRUE(this->refusal(*w, {"alpha"}, "1/2").has_value());
}

TEST(RunLockPostgres, LockIsHeldOnTheWarehouseConnectionAndReleasedWithIt) {
  PostgresBackend backend;
  auto first = backend.open();
  first->migrate();
  auto lock = first->try_lock_run({"alpha"}, "all", kFirst);
  const auto sessions = [&] {
    return backend.query(
        "SELECT count(*) FROM pg_locks k JOIN pg_stat_activity a ON a.pid = k.pid "
        "WHERE k.locktype = 'advisory' AND k.granted AND a.datname = current_database() "
        "AND a.application_name = 'qonversion-etl'")[0][0];
  };
  EXPECT_EQ(sessions(), "1");
  EXPECT_EQ(backend.query("SELECT host, pid FROM etl_run_locks WHERE lock_name = 'all:alpha'"),
            (Rows{{Value("h1"), Value("1234")}}));
  lock.reset();
  EXPECT_EQ(sessions(), "0");
  EXPECT_TRUE(backend.query("SELECT 1 FROM etl_run_locks").empty()) << "release forgets the holder";
}

// The server ends the job's session (a restart, a DBA's pg_terminate_backend) between
// transactions; the warehouse reconnects, and the new session must hold the run lock again
// before it writes anything.
class RunLockReconnect : public ::testing::Test {
 protected:
  RunLockReconnect() {
    job = backend.open();
    job->migrate();
    lock = job->try_lock_run({"alpha"}, "all", kFirst);
  }
  void terminate_job_session() {
    const Rows r = backend.query(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'qonversion-etl'");
    ASSERT_EQ(r, (Rows{{Value("t")}})) << "exactly the job's session was to be ended";
  }
  static RunRecord run(const std::string& id) {
    RunRecord r;
    r.run_id = id;
    r.started_at = r.snapshot_at = kFirst.started_at;
    r.version = "test";
    r.config_sha256 = "0";
    r.host = "h1";
    return r;
  }

  PostgresBackend backend;
  std::unique_ptr<Warehouse> job;
  std::unique_ptr<RunLock> lock;
};

TEST_F(RunLockReconnect, TheNewSessionTakesTheLockAgainBeforeWriting) {
  terminate_job_session();
  job->start_run(run("after-reconnect"));  // reconnects, re-locks, writes
  EXPECT_EQ(backend.query("SELECT count(*) FROM etl_runs")[0][0], "1");
  auto other = backend.open();
  try {
    other->try_lock_run({"alpha"}, "all", kSecond);
    ADD_FAILURE() << "the lock was not taken again after the reconnection";
  } catch (const LockedError& e) {
    EXPECT_STREQ(e.what(),
                 "another run holds the lock for project \"alpha\" (host h1, pid 1234, started 2026-11-24T03:00:00Z)");
  }
}

TEST_F(RunLockReconnect, ARunThatLostItsLockToAnotherStopsWithoutWriting) {
  terminate_job_session();
  auto other = backend.open();
  const auto taken = other->try_lock_run({"alpha"}, "all", kSecond);
  try {
    job->start_run(run("unguarded"));
    ADD_FAILURE() << "wrote without the lock";
  } catch (const LockedError& e) {
    EXPECT_EQ(e.code(), ExitCode::locked);
    EXPECT_STREQ(e.what(),
                 "lost the warehouse session mid-run, and meanwhile another run holds the lock for project "
                 "\"alpha\" (host h2, pid 5678, started 2026-11-24T03:00:05Z)");
  }
  EXPECT_EQ(backend.query("SELECT count(*) FROM etl_runs")[0][0], "0");
}

TEST(RunLockSqlite, LockFilesLieNextToTheDatabaseAndNameTheHolder) {
  SqliteBackend backend;
  auto w = backend.open();
  w->migrate();
  auto lock = w->try_lock_run({"alpha", "my app"}, "1/2", kFirst);
  EXPECT_EQ(slurp_file(backend.path() + ".run-lock.1%2F2.alpha"), "host=h1\npid=1234\nstarted_at=" +
                                                                      std::to_string(kFirst.started_at) + "\n");
  EXPECT_FALSE(slurp_file(backend.path() + ".run-lock.1%2F2.my%20app").empty());
  lock.reset();
  EXPECT_EQ(slurp_file(backend.path() + ".run-lock.1%2F2.alpha"), "") << "release empties the file";
}

}  // namespace
}  // namespace qetl::test
