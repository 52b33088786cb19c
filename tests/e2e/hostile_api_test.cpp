// The built binary against an API (or a proxy in front of it) that answers what no
// documentation promises, into both warehouses (SPEC "Behaviour under faults"): answers nested
// far too deep, error pages that are not UTF-8, redirects, a 404 that echoes the key, a
// Retry-After of a day, an API that answers nothing but errors, two projects sharing a key, and
// an operator who presses Ctrl-C twice.
#include <fstream>

#include "e2e/fault_scenario.hpp"

namespace qetl::test {
namespace {

template <typename Probe>
class HostileApi : public ::testing::Test {};

using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
TYPED_TEST_SUITE(HostileApi, Backends);

// True when every byte sequence of `text` is well-formed UTF-8 (RFC 3629).
bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                                                   : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (len == 0 || i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

TYPED_TEST(HostileApi, AnAnswerNestedAHundredFiftyThousandDeepIsReadNotACrash) {
  Scenario<TypeParam> s;
  s.start_mock({"--fault-rate", "1", "--fault-kinds", "deep-nesting"});
  s.write_config(ConfigSpec{});
  const ProcessResult r = s.etl();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.rows(), 4);
  EXPECT_EQ(s.expect_rows_match_answers(), 4);
  EXPECT_EQ(s.run_row().at("status"), "succeeded");
  s.expect_no_key_anywhere();
}

TYPED_TEST(HostileApi, ErrorPagesThatAreNotUtf8AreStoredAndLoggedAsValidText) {
  for (const char* kind : {"latin1-page", "cut-utf8", "control-chars-raw"}) {
    SCOPED_TRACE(kind);
    Scenario<TypeParam> s;
    // 400: the cell fails at once with the page's text as its error.
    s.start_mock({"--fail-segment", "country=GB", "--fail-first", "1000", "--fail-kind", kind, "--text-fault-status",
                  "400"});
    s.write_config(ConfigSpec{});
    const ProcessResult r = s.etl();
    // Every cell failed the same way, and the warehouse took every failure row: exit 1, not 74.
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(valid_utf8(r.err)) << r.err;
    const auto failures = s.probe_.query("SELECT error FROM etl_cell_failures");
    EXPECT_EQ(failures.size(), 4u);
    for (const SqlRow& f : failures) {
      const std::string error = f.at("error").value_or("");
      EXPECT_TRUE(valid_utf8(error)) << error;
      EXPECT_FALSE(contains(error, "\x1b")) << error;
      EXPECT_FALSE(contains(error, "\n")) << error;
    }
    s.expect_no_key_anywhere();
  }
}

TYPED_TEST(HostileApi, ARedirectStopsTheRunAtOnceWithExit78) {
  Scenario<TypeParam> s;
  s.start_mock({"--redirect-all", "302"});
  ConfigSpec spec;
  spec.concurrency = 2;
  spec.matrix = "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\", \"IT\", \"ES\", \"NL\"]\n";
  s.write_config(spec);
  const ProcessResult r = s.etl();
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_TRUE(contains(r.err, "redirect")) << r.err;
  EXPECT_LE(s.requests_total(), 2) << "every cell was tried one by one";
  EXPECT_EQ(s.run_row().at("status"), "failed");
  s.expect_no_key_anywhere();
}

TYPED_TEST(HostileApi, A404EchoingTheRequestPathShowsTheKeyNowhere) {
  for (const char* form : {"text", "json"}) {
    SCOPED_TRACE(form);
    Scenario<TypeParam> s;
    s.start_mock({"--echo-path-in-404", form});
    ConfigSpec spec;
    spec.base_url = s.mock().base_url();
    spec.base_url.replace(spec.base_url.find("/v1/analytics"), 13, "/api/v1/analytics");
    s.write_config(spec);
    const ProcessResult r = s.etl();
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_TRUE(contains(r.err, "404")) << r.err;
    EXPECT_TRUE(contains(r.err, "/api/v1/analytics/****/customers-metrics")) << r.err;
    const SqlRow run = s.run_row();
    EXPECT_TRUE(contains(run.at("message").value_or(""), "****")) << run.at("message").value_or("");
    s.expect_no_key_anywhere();
  }
}

TYPED_TEST(HostileApi, ARetryAfterOfADayWaitsOnlyMaxRetryWait) {
  for (const std::vector<std::string>& retry_after :
       {std::vector<std::string>{"--retry-after", "86400"}, std::vector<std::string>{"--retry-after-date-in", "86400"},
        std::vector<std::string>{"--retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"}}) {
    SCOPED_TRACE(retry_after.back());
    Scenario<TypeParam> s;
    std::vector<std::string> args = {"--fail-first", "1", "--fail-kind", "429"};
    args.insert(args.end(), retry_after.begin(), retry_after.end());
    s.start_mock(args);
    ConfigSpec spec;
    spec.extra_api = "max_retry_wait_seconds = 2\n";
    s.write_config(spec);
    const auto started = Clock::now();
    auto job = s.start_etl();
    const Watchdog watchdog(job->pid(), std::chrono::seconds(60));
    const ProcessResult r = s.finish(*job);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(s.rows(), 4);
    EXPECT_GE(seconds, 2.0) << "Retry-After ignored";
    EXPECT_LT(seconds, 30.0) << "the wait was not capped";
    s.expect_no_key_anywhere();
  }
}

TYPED_TEST(HostileApi, AnApiAnsweringOnlyErrorsIsGivenUpAndResumeFetchesTheRest) {
  Scenario<TypeParam> s;
  s.start_mock({"--storm-seconds", "inf", "--storm-kinds", "500,502,503"});
  ConfigSpec spec;
  spec.requests_per_minute = 120;  // 2 a second: at most a few cells are tried before giving up
  spec.max_attempts = 100;
  spec.extra_api = "give_up_after_seconds = 3\nmax_retry_wait_seconds = 1\n";
  spec.matrix = "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\", \"IT\", \"ES\", \"NL\", \"PL\", \"SE\"]\n"
                "target_platform = [\"*\", \"iOS\", \"Android\"]\n";
  s.write_config(spec);
  const ProcessResult r = s.etl();
  EXPECT_EQ(r.exit_code, 69) << r.err;
  EXPECT_TRUE(contains(r.err, "run --resume")) << r.err;
  const SqlRow run = s.run_row();
  EXPECT_EQ(run.at("status"), "failed");
  const std::int64_t failed = std::stoll(run.at("cells_failed").value_or("0"));
  EXPECT_EQ(s.probe_.count("etl_cell_failures"), failed);
  EXPECT_LT(failed, 30) << "cells never tried are not failures";
  EXPECT_LT(s.requests_total(), 30 * 3) << "each cell was tried to max_attempts";

  // The API recovers: --resume fetches every cell, none skipped because of the failures.
  s.start_mock({});
  spec.base_url = "";
  s.write_config(spec);
  const ProcessResult resumed = s.etl({"run", "--resume"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(s.rows(), 30);
  s.expect_no_key_anywhere();
}

TYPED_TEST(HostileApi, TwoProjectsSharingAKeySharePaceAtAStrictServersLimit) {
  Scenario<TypeParam> s;
  // One key, 300 requests a minute, no burst and no forgiveness.
  s.start_mock({"--rate-limit-per-minute", "300", "--rate-limit-tolerance-ms", "0"}, kKeyAlpha);
  ConfigSpec spec;
  spec.requests_per_minute = 300;
  spec.with_beta = true;
  spec.beta_key_env = "E2E_KEY_ALPHA";
  spec.matrix = "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\"]\n";
  s.write_config(spec);
  const ProcessResult r = s.etl();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(s.rows(), 10);
  EXPECT_LE(s.answers_with(429), 2) << "two entries of one key sent together";
  s.expect_no_key_anywhere();
}

// Ctrl-C twice: the first asks for a clean stop, which waits for the warehouse; the second
// ends the process at once. What was committed stays committed.
// True once `pid` has no signal pending: the last one sent has reached its handler.
bool no_signal_pending(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  int pending_lines = 0;
  while (std::getline(status, line)) {
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0) {
      if (line.find_first_not_of("0", line.find_first_not_of(" \t", 7)) != std::string::npos) return false;
      pending_lines += 1;
    }
  }
  return pending_lines == 2;
}

TYPED_TEST(HostileApi, ASecondSignalEndsTheProcessAtOnce) {
  Scenario<TypeParam> s;
  s.start_mock({"--latency-ms", "400"});
  ConfigSpec spec;
  spec.matrix = "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\", \"IT\", \"ES\", \"NL\"]\n";
  s.write_config(spec);
  ASSERT_EQ(s.etl().exit_code, 0);  // a night already loaded: the tables exist
  auto job = s.start_etl();
  ASSERT_TRUE(await([&] { return contains(job->stderr_so_far(), "run started"); }, std::chrono::seconds(20)))
      << job->stderr_so_far();
  // A BI tool takes a write lock while the answers are on their way: the job's commit waits.
  auto blocker = s.probe_.hold_write_lock_on("customer_metrics");
  ASSERT_TRUE(await([&] { return s.requests_total() >= 8 && Scenario<TypeParam>::field(s.stats(), "in_flight") == 0; },
                    std::chrono::seconds(20)))
      << job->stderr_so_far();
  const Watchdog watchdog(job->pid(), std::chrono::seconds(30));
  job->signal(SIGINT);
  ASSERT_TRUE(await([&] { return no_signal_pending(job->pid()); }, std::chrono::seconds(5)));
  job->signal(SIGINT);
  const auto signalled = Clock::now();
  const ProcessResult r = s.finish(*job);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - signalled).count(), 3.0);
  blocker.reset();
  EXPECT_EQ(s.rows(), 8) << "what the first run committed stays";

  // The process is gone without a word: the next run of its scope closes its record.
  const ProcessResult next = s.etl({"run", "--resume"});
  EXPECT_EQ(next.exit_code, 0) << next.err;
  const SqlRow killed = s.run_row("status <> 'succeeded'");
  EXPECT_EQ(killed.at("status"), "interrupted");
  EXPECT_TRUE(killed.at("finished_at"));
  EXPECT_TRUE(contains(killed.at("message").value_or(""), "process gone")) << killed.at("message").value_or("");
  EXPECT_TRUE(contains(next.err, "marked interrupted")) << next.err;
}

}  // namespace
}  // namespace qetl::test
