// What an operator sees of a run: the log formats (text, JSON, -v, -q, journald priorities),
// the summary line and the same figures in etl_runs, `run --dry-run`, shards, and the
// progress line (on a terminal only). The built binary against the mock API.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"

namespace qetl::test {
namespace {

const std::string kSnapshot = "2026-11-20";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// key=value fields of a text log line (values without spaces, as the summary's are).
std::map<std::string, std::string> fields_of(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

std::int64_t mock_requests(const MockApiServer& mock) {
  rapidjson::Document d;
  d.Parse(mock.stats_json().c_str());
  return d["requests_total"].GetInt64();
}

std::string config_text(const std::string& base_url, const std::string& warehouse_lines,
                        const std::string& matrix = "country = [\"*\", \"US\", \"GB\", \"DE\"]\n",
                        double requests_per_minute = 60000, int max_attempts = 3) {
  return "[api]\nbase_url = \"" + base_url + "\"\nrequests_per_minute = " + std::to_string(requests_per_minute) +
         "\nmax_attempts = " + std::to_string(max_attempts) + "\n\n[warehouse]\n" + warehouse_lines +
         "\n[[project]]\nname = \"alpha\"\napi_key = { env = \"E2E_KEY_ALPHA\" }\n\n"
         "[[window]]\nname = \"since_2025\"\nfrom = \"2025-01-01\"\n\n[matrix]\n" +
         matrix;
}

const std::map<std::string, std::string> kEnv = {{"E2E_KEY_ALPHA", kKeyAlpha}};

TEST(OperatorLogs, JsonLinesParseEvenForCommandLineAndConfigErrors) {
  TempDir dir;
  SqliteProbe probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines()));

  const ProcessResult ok = run_process(
      {QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot, "--log-format", "json", "-v"}, kEnv,
      dir.path().string());
  const ProcessResult usage =
      run_process({QETL_BINARY, "run", "--log-format", "json", "--no-such-option"}, kEnv, dir.path().string());
  const ProcessResult config =
      run_process({QETL_BINARY, "plan", "--log-format=json", "-c", dir.file("missing.toml")}, kEnv, dir.path().string());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(usage.exit_code, 64) << usage.err;
  EXPECT_EQ(config.exit_code, 78) << config.err;

  int request_lines = 0;
  std::string summary_msg;
  for (const ProcessResult* r : {&ok, &usage, &config}) {
    ASSERT_FALSE(lines_of(r->err).empty());
    for (const std::string& line : lines_of(r->err)) {
      rapidjson::Document d;
      d.Parse(line.c_str());
      ASSERT_FALSE(d.HasParseError()) << line;
      ASSERT_TRUE(d.IsObject()) << line;
      for (const char* key : {"ts", "level", "msg"}) ASSERT_TRUE(d.HasMember(key) && d[key].IsString()) << line;
      if (r != &ok) {
        EXPECT_STREQ(d["level"].GetString(), "error") << line;
        continue;
      }
      const std::string msg = d["msg"].GetString();
      if (msg == "request") {
        // -v: one line per request: masked URL, status, attempt, duration.
        request_lines += 1;
        EXPECT_EQ(std::string(d["url"].GetString()).rfind("/v1/analytics/****/customers-metrics?", 0), 0u) << line;
        EXPECT_STREQ(d["status"].GetString(), "200");
        EXPECT_STREQ(d["attempt"].GetString(), "1");
        EXPECT_GE(std::stod(d["seconds"].GetString()), 0.0);
      }
      if (d.HasMember("cells_stored")) {
        summary_msg = msg;
        EXPECT_STREQ(d["cells_stored"].GetString(), "4") << line;
      }
    }
  }
  EXPECT_EQ(request_lines, mock_requests(mock));
  EXPECT_EQ(request_lines, 4);
  EXPECT_EQ(summary_msg, "run succeeded");
  EXPECT_TRUE(contains(usage.err, "no-such-option")) << usage.err;
  EXPECT_TRUE(contains(config.err, "missing.toml")) << config.err;
  EXPECT_FALSE(contains(ok.err + ok.out, kKeyAlpha));
}

TEST(OperatorLogs, QuietLeavesWarningsAndErrorsOnly) {
  TempDir dir;
  SqliteProbe probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--fail-segment", "country=US"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines(), "country = [\"*\", \"US\", \"GB\"]\n",
                                             60000, 1));
  const ProcessResult quiet =
      run_process({QETL_BINARY, "run", "-q", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv,
                  dir.path().string());
  ASSERT_EQ(quiet.exit_code, 1) << quiet.err;
  const auto lines = lines_of(quiet.err);
  ASSERT_FALSE(lines.empty());
  bool cell_failed = false;
  for (const std::string& line : lines) {
    std::istringstream words(line);
    std::string ts, level;
    words >> ts >> level;
    EXPECT_TRUE(level == "warning" || level == "error") << line;
    cell_failed = cell_failed || contains(line, "cell failed");
  }
  EXPECT_TRUE(cell_failed) << quiet.err;
  EXPECT_TRUE(contains(lines.back(), "run partial")) << quiet.err;  // the summary is a warning here

  // Without -q the same run also says what went well.
  const ProcessResult normal =
      run_process({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv, dir.path().string());
  EXPECT_TRUE(contains(normal.err, " info run started")) << normal.err;
  EXPECT_FALSE(contains(quiet.err, " info ")) << quiet.err;
}

// journald: with stderr being the journal's stream, every line carries its priority.
TEST(OperatorLogs, SyslogPrioritiesOnlyWhenStderrIsTheJournal) {
  TempDir dir;
  SqliteProbe probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--fail-segment", "country=US"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines(), "country = [\"*\", \"US\"]\n",
                                             60000, 1));
  // What systemd does: JOURNAL_STREAM names the device and inode of the stream on stderr.
  const std::string script = "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); exec \"$0\" run -c \"$1\" --snapshot " +
                             kSnapshot;
  const ProcessResult journal =
      run_process({"/bin/sh", "-c", script, QETL_BINARY, dir.file("c.toml")}, kEnv, dir.path().string());
  ASSERT_EQ(journal.exit_code, 1) << journal.err;
  bool info = false, warning = false;
  for (const std::string& line : lines_of(journal.err)) {
    ASSERT_TRUE(line.rfind("<6>", 0) == 0 || line.rfind("<4>", 0) == 0 || line.rfind("<3>", 0) == 0) << line;
    info = info || (line.rfind("<6>", 0) == 0 && contains(line, " info "));
    warning = warning || (line.rfind("<4>", 0) == 0 && contains(line, " warning cell failed"));
  }
  EXPECT_TRUE(info && warning) << journal.err;

  // Inherited by a process whose stderr goes elsewhere: no prefixes.
  const ProcessResult elsewhere = run_process({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot},
                                              {{"E2E_KEY_ALPHA", kKeyAlpha}, {"JOURNAL_STREAM", "1:1"}},
                                              dir.path().string());
  EXPECT_FALSE(contains(elsewhere.err, "<6>")) << elsewhere.err;
}

template <typename Probe>
class OperatorRuns : public ::testing::Test {};
using Backends = ::testing::Types<SqliteProbe, PostgresProbe>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same<T, SqliteProbe>::value ? "sqlite" : "postgresql";
  }
};
TYPED_TEST_SUITE(OperatorRuns, Backends, BackendNames);

// The last line of a run and its etl_runs row tell the same story.
TYPED_TEST(OperatorRuns, SummaryLineAndEtlRunsCarryTheSameFigures) {
  TempDir dir;
  TypeParam probe(dir);
  // Every cell is rate limited once, then answered; one segment fails for good.
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--fail-first", "1", "--fail-kind", "429",
                      "--retry-after", "0", "--fail-segment", "country=DE"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines(),
                                             "country = [\"*\", \"US\", \"GB\", \"DE\"]\n", 60000, 2));
  const ProcessResult r =
      run_process({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv, dir.path().string());
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const std::string last = lines_of(r.err).back();
  ASSERT_TRUE(contains(last, " run partial ")) << r.err;
  auto f = fields_of(last);
  EXPECT_EQ(f["snapshot"], "2026-11-20T00:00:00Z");
  EXPECT_EQ(f["cells_planned"], "4");
  EXPECT_EQ(f["cells_stored"], "3");
  EXPECT_EQ(f["cells_failed"], "1");
  EXPECT_EQ(f["rows_upserted"], "3");
  EXPECT_EQ(f["requests"], std::to_string(mock_requests(mock)));
  EXPECT_EQ(f["requests"], "8");       // 4 cells x 2 attempts
  EXPECT_EQ(f["retries"], "4");        // every cell's second attempt
  EXPECT_EQ(f["responses_429"], "3");  // the DE cell answers 500 before any 429
  EXPECT_TRUE(f.count("duration_s") == 1 && f.count("run_id") == 1) << last;

  const auto runs = probe.query("SELECT status, cells_planned, cells_succeeded, cells_failed, rows_upserted, "
                                "requests_sent, retries, responses_429, run_id, " +
                                probe.epoch("finished_at") + " - " + probe.epoch("started_at") + " AS duration, " +
                                probe.epoch("snapshot_at") + " AS snapshot FROM etl_runs");
  ASSERT_EQ(runs.size(), 1u);
  const SqlRow& row = runs[0];
  EXPECT_EQ(*row.at("status"), "partial");
  EXPECT_EQ(*row.at("cells_planned"), f["cells_planned"]);
  EXPECT_EQ(*row.at("cells_succeeded"), f["cells_stored"]);
  EXPECT_EQ(*row.at("cells_failed"), f["cells_failed"]);
  EXPECT_EQ(*row.at("rows_upserted"), f["rows_upserted"]);
  EXPECT_EQ(*row.at("requests_sent"), f["requests"]);
  EXPECT_EQ(*row.at("retries"), f["retries"]);
  EXPECT_EQ(*row.at("responses_429"), f["responses_429"]);
  EXPECT_EQ(*row.at("duration"), f["duration_s"]);
  EXPECT_EQ(*row.at("run_id"), f["run_id"]);
  EXPECT_EQ(*row.at("snapshot"), "1795132800");
}

// --dry-run: the config is validated, the warehouse is looked at, the plan is reported;
// no request is sent and nothing is written, not even an empty SQLite file.
TYPED_TEST(OperatorRuns, DryRunSendsNothingAndWritesNothing) {
  TempDir dir;
  TypeParam probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines(), "country = [\"*\", \"US\"]\n", 60));
  const auto dry = [&] {
    return run_process({QETL_BINARY, "run", "--dry-run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv,
                       dir.path().string());
  };
  const ProcessResult first = dry();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(contains(first.err, "schema_version=0")) << first.err;
  EXPECT_TRUE(contains(first.err, "cells=2 estimated_duration=2s")) << first.err;
  const auto pending = fields_of(lines_of(first.err).back())["pending_migrations"];
  EXPECT_GE(std::stoi(pending), 4) << first.err;
  EXPECT_FALSE(probe.has_table("etl_runs"));
  EXPECT_FALSE(probe.has_table("customer_metrics"));
  if constexpr (std::is_same<TypeParam, SqliteProbe>::value) {
    EXPECT_FALSE(std::filesystem::exists(probe.path()));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(probe.path()).parent_path()));
  }
  EXPECT_EQ(mock_requests(mock), 0);

  // Against a loaded warehouse: nothing pending, not a byte changed.
  const ProcessResult real =
      run_process({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv, dir.path().string());
  ASSERT_EQ(real.exit_code, 0) << real.err;
  const auto before = probe.query("SELECT run_id, status, " + probe.epoch("finished_at") + " AS f FROM etl_runs");
  std::string bytes_before;
  if constexpr (std::is_same<TypeParam, SqliteProbe>::value) {
    bytes_before = slurp(probe.path());
  }
  const std::int64_t requests_before = mock_requests(mock);
  const ProcessResult second = dry();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(contains(second.err, "pending_migrations=0")) << second.err;
  EXPECT_EQ(mock_requests(mock), requests_before);
  EXPECT_EQ(probe.query("SELECT run_id, status, " + probe.epoch("finished_at") + " AS f FROM etl_runs"), before);
  if constexpr (std::is_same<TypeParam, SqliteProbe>::value) {
    EXPECT_EQ(slurp(probe.path()), bytes_before);
  }
}

// --dry-run --resume --shard: the plan lines of exactly the cells the run would fetch.
TYPED_TEST(OperatorRuns, DryRunPrintsExactlyTheCellsTheRunWouldFetch) {
  TempDir dir;
  TypeParam probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--fail-segment", "country=GB"});
  write_file(dir.file("c.toml"),
             config_text(mock.base_url(), probe.config_lines(), "country = [\"*\", \"US\", \"GB\", \"DE\"]\n", 6000));
  const auto etl = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv, kEnv, dir.path().string());
  };
  const ProcessResult partial = etl({});
  ASSERT_EQ(partial.exit_code, 1) << partial.err;  // country=GB failed, three cells stored
  const std::int64_t requests_before = mock_requests(mock);

  const ProcessResult dry = etl({"--dry-run", "--resume"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto lines = lines_of(dry.out);
  ASSERT_EQ(lines.size(), 2u) << dry.out;
  EXPECT_TRUE(contains(lines[0], "\tcountry=GB\t")) << lines[0];
  EXPECT_TRUE(contains(lines[1], "1 cells across 1 project(s)")) << lines[1];
  EXPECT_TRUE(contains(dry.err, "skipped_by_resume=3")) << dry.err;
  EXPECT_EQ(mock_requests(mock), requests_before);

  // The same cells as `plan` would list for a shard, minus the stored ones.
  const ProcessResult sharded = etl({"--dry-run", "--shard", "1/2"});
  ASSERT_EQ(sharded.exit_code, 0) << sharded.err;
  const ProcessResult planned =
      run_process({QETL_BINARY, "plan", "-c", dir.file("c.toml"), "--snapshot", kSnapshot, "--shard", "1/2"}, kEnv,
                  dir.path().string());
  EXPECT_EQ(sharded.out, planned.out);
}

// --shard K/N: `plan` slices cover the unsharded plan exactly once.
TEST(Shards, PlanSlicesCoverEveryCellExactlyOnce) {
  TempDir dir;
  write_file(dir.file("c.toml"),
             config_text("http://127.0.0.1:9", "url = \"sqlite://" + dir.file("m.sqlite") + "\"\n",
                         "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\"]\ntarget_platform = [\"*\", \"iOS\", \"Android\"]\n"));
  const auto plan_lines = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {QETL_BINARY, "plan", "-c", dir.file("c.toml"), "--snapshot", kSnapshot};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const ProcessResult r = run_process(argv, kEnv, dir.path().string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto lines = lines_of(r.out);
    lines.pop_back();  // the footer
    return lines;
  };
  const auto all = plan_lines({});
  ASSERT_EQ(all.size(), 15u);
  std::multiset<std::string> union_of_shards;
  for (int k = 1; k <= 3; ++k) {
    const auto part = plan_lines({"--shard", std::to_string(k) + "/3"});
    EXPECT_GT(part.size(), 0u) << "shard " << k;
    union_of_shards.insert(part.begin(), part.end());
    EXPECT_EQ(plan_lines({"--shard", std::to_string(k) + "/3"}), part) << "deterministic";
  }
  EXPECT_EQ(union_of_shards, std::multiset<std::string>(all.begin(), all.end()));
}

// N hosts, one PostgreSQL: the shards run at the same time, each under its own lock.
TEST(Shards, RunSideBySideIntoOnePostgres) {
  TempDir dir;
  PostgresProbe probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--latency-ms", "100"});
  write_file(dir.file("c.toml"),
             config_text(mock.base_url(), probe.config_lines(),
                         "country = [\"*\", \"US\", \"GB\", \"DE\", \"FR\"]\ntarget_platform = [\"*\", \"iOS\"]\n", 600));
  ChildProcess one({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot, "--shard", "1/2"}, kEnv,
                   dir.path().string());
  ChildProcess two({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot, "--shard", "2/2"}, kEnv,
                   dir.path().string());
  const ProcessResult r1 = one.wait();
  const ProcessResult r2 = two.wait();
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(probe.count("customer_metrics"), 10);
  EXPECT_EQ(probe.count("etl_runs WHERE status = 'succeeded'"), 2);
  EXPECT_EQ(*probe.query("SELECT sum(cells_planned) AS n FROM etl_runs").at(0).at("n"), "10");
  // They overlapped in time (each takes ~0.5 s at 600 a minute), so neither waited for the other.
  const auto overlap = probe.query("SELECT count(*) AS n FROM etl_runs a JOIN etl_runs b ON a.run_id < b.run_id "
                                   "WHERE a.started_at <= b.finished_at AND b.started_at <= a.finished_at");
  EXPECT_EQ(*overlap.at(0).at("n"), "1");
}

// The progress line: on a terminal (here a pseudo-terminal from script(1)), redrawn in place;
// never in a pipe or a file, never with -q.
TEST(Progress, RedrawnOnATerminalOnly) {
  TempDir dir;
  SqliteProbe probe(dir);
  MockApiServer mock({"--keys", kKeyAlpha, "--customers", "500", "--latency-ms", "200"});
  write_file(dir.file("c.toml"), config_text(mock.base_url(), probe.config_lines(), "country = [\"*\", \"US\", \"GB\", \"DE\"]\n",
                                             300));
  const std::string command = std::string(QETL_BINARY) + " run -c " + dir.file("c.toml") + " --snapshot " + kSnapshot;
  const ProcessResult tty = run_process({"/usr/bin/script", "-qfec", command, "/dev/null"}, kEnv, dir.path().string());
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_TRUE(contains(tty.out, "\r\x1b[K")) << tty.out;
  EXPECT_TRUE(contains(tty.out, "/4 cells (")) << tty.out;
  EXPECT_TRUE(contains(tty.out, " req/s  elapsed ")) << tty.out;
  EXPECT_TRUE(contains(tty.out, "  ETA ")) << tty.out;
  EXPECT_TRUE(contains(tty.out, "run succeeded")) << tty.out;

  const ProcessResult quiet = run_process({"/usr/bin/script", "-qfec", command + " -q", "/dev/null"}, kEnv, dir.path().string());
  ASSERT_EQ(quiet.exit_code, 0) << quiet.out;
  EXPECT_FALSE(contains(quiet.out, "cells (")) << quiet.out;

  const ProcessResult piped =
      run_process({QETL_BINARY, "run", "-c", dir.file("c.toml"), "--snapshot", kSnapshot}, kEnv, dir.path().string());
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_FALSE(contains(piped.err, "\r")) << piped.err;
  EXPECT_FALSE(contains(piped.err, "\x1b[")) << piped.err;
  EXPECT_FALSE(contains(piped.err, "cells (")) << piped.err;
}

}  // namespace
}  // namespace qetl::test
