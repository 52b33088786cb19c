#pragma once
// One fault scenario of the end-to-end tests: a directory, a warehouse probe, the mock API with
// the faults a test asks for, the job's config, and checks of what a user would see (exit code,
// etl_runs, rows equal to the mock's answers, no key anywhere). Shared by the fault tests.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "e2e/answer_check.hpp"
#include "e2e/e2e_support.hpp"
#include "e2e/warehouse_probe.hpp"

namespace qetl::test {

using Clock = std::chrono::steady_clock;

const std::string kSnapshot = "2026-11-20";

// One fixed window, one project-environment per project unless the test says otherwise.
struct ConfigSpec {
  std::string base_url;
  int concurrency = 4;
  double requests_per_minute = 60000;
  double timeout_seconds = 10;
  int max_attempts = 3;
  std::string extra_api;   // more [api] lines, e.g. "give_up_after_seconds = 5\n"
  std::string beta_key_env = "E2E_KEY_BETA";
  bool with_beta = false;  // a second project, "beta"
  std::string environments = "[1]";
  std::string windows = "[[window]]\nname = \"since_2025\"\nfrom = \"2025-01-01\"\n";
  std::string matrix = "country = [\"*\", \"US\", \"GB\", \"DE\"]\n";
  std::string tables;  // more tables after [matrix], e.g. "[checks]\nfail_on = \"error\"\n"
};

// What one scenario needs: a directory, a warehouse, a mock API and the job's config.
template <typename Probe>
class Scenario {
 public:
  Scenario() : probe_(dir_) {}

  // `--keys` and `--answer-log` are added; a small customer set keeps the mock's start quick.
  void start_mock(std::vector<std::string> args, const std::string& keys = kKeyAlpha + "," + kKeyBeta) {
    mock_.reset();
    args.insert(args.end(), {"--keys", keys, "--customers", "2000", "--answer-log", dir_.file("answers.jsonl")});
    mock_ = std::make_unique<MockApiServer>(args);
  }
  MockApiServer& mock() { return *mock_; }

  void write_config(ConfigSpec spec) {
    if (spec.base_url.empty()) spec.base_url = mock_->base_url();
    std::ostringstream c;
    c << "snapshot_grain = \"day\"\nmax_cells = 1000\n\n[api]\nbase_url = \"" << spec.base_url
      << "\"\nconcurrency = " << spec.concurrency << "\nrequests_per_minute = " << spec.requests_per_minute
      << "\ntimeout_seconds = " << spec.timeout_seconds << "\nmax_attempts = " << spec.max_attempts << "\n"
      << spec.extra_api << "\n[warehouse]\n"
      << probe_.config_lines() << "\n[[project]]\nname = \"alpha\"\napi_key = { env = \"E2E_KEY_ALPHA\" }\nenvironments = "
      << spec.environments << "\n";
    if (spec.with_beta) {
      c << "\n[[project]]\nname = \"beta\"\napi_key = { env = \"" << spec.beta_key_env << "\" }\nenvironments = "
        << spec.environments << "\n";
    }
    c << "\n" << spec.windows << "\n[matrix]\n" << spec.matrix << "\n" << spec.tables;
    write_file(dir_.file("config.toml"), c.str());
  }

  std::vector<std::string> argv(std::vector<std::string> args) const {
    args.insert(args.begin(), QETL_BINARY);
    if (args.at(1) != "migrate") args.insert(args.end(), {"--snapshot", snapshot});
    args.insert(args.end(), {"--config", dir_.file("config.toml")});
    return args;
  }
  std::map<std::string, std::string> env() const {
    std::map<std::string, std::string> e = extra_env;
    e.insert({{"E2E_KEY_ALPHA", kKeyAlpha}, {"E2E_KEY_BETA", kKeyBeta}});
    return e;
  }
  std::map<std::string, std::string> extra_env;  // more environment for the job (PGOPTIONS, ...)

  std::unique_ptr<ChildProcess> start_etl(std::vector<std::string> args = {"run"}) {
    return std::make_unique<ChildProcess>(argv(std::move(args)), env(), dir_.path().string());
  }
  ProcessResult finish(ChildProcess& child) {
    ProcessResult r = child.wait();
    outputs_ += r.out + r.err;
    return r;
  }
  ProcessResult etl(std::vector<std::string> args = {"run"}) { return finish(*start_etl(std::move(args))); }

  rapidjson::Document stats() const {
    rapidjson::Document d;
    d.Parse(mock_->stats_json().c_str());
    if (d.HasParseError() || !d.IsObject()) ADD_FAILURE() << "unreadable /__stats";
    return d;
  }
  static std::int64_t field(const rapidjson::Value& v, const char* outer, const std::string& inner = "") {
    if (!v.IsObject() || !v.HasMember(outer)) return 0;
    const rapidjson::Value& o = v[outer];
    if (inner.empty()) return o.IsInt64() ? o.GetInt64() : 0;
    const auto it = o.FindMember(inner.c_str());
    return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
  }
  std::int64_t requests_total() const { return field(stats(), "requests_total"); }
  std::int64_t requests_for(const std::string& key) const { return field(stats(), "by_key", key); }
  std::int64_t answers_with(int status) const { return field(stats(), "by_status", std::to_string(status)); }

  // The one etl_runs row that matches `where`.
  SqlRow run_row(const std::string& where = "1 = 1") {
    const auto runs = probe_.query("SELECT * FROM etl_runs WHERE " + where);
    if (runs.size() != 1) {
      ADD_FAILURE() << runs.size() << " etl_runs rows where " << where;
      return {};
    }
    return runs.front();
  }
  std::int64_t rows(const std::string& where = "") {
    return probe_.count("customer_metrics" + (where.empty() ? "" : " WHERE " + where));
  }

  // Every stored row is complete and equals the mock's (last) answer to that cell's request;
  // returns how many rows were checked.
  int expect_rows_match_answers() {
    const auto answers = read_answer_log(dir_.file("answers.jsonl"));
    const std::string sql = "SELECT project, environment, segment, " + probe_.epoch("window_from") + " AS wf, " +
                            probe_.epoch("window_to") +
                            " AS wt, target_platform, country, clients_with_event, active_subscribers, "
                            "churned_subscribers, active_trials, canceled_trials, billing_retry, avg_payment_count, "
                            "avg_price, sales, fetched_at, run_id FROM customer_metrics";
    int checked = 0;
    for (const SqlRow& row : probe_.query(sql)) {
      for (const auto& [column, value] : row) {
        if (column != "country" && column != "target_platform") {
          EXPECT_TRUE(value.has_value()) << column << " is NULL in " << *row.at("segment");
        }
      }
      std::map<std::string, std::vector<std::string>> filters;
      for (const char* dim : {"target_platform", "country"}) {
        if (row.at(dim)) filters[dim] = {*row.at(dim)};
      }
      const std::string key = *row.at("project") == "alpha" ? kKeyAlpha : kKeyBeta;
      const std::string id = request_identity(key, std::stol(*row.at("environment")), std::stoll(*row.at("wf")),
                                              std::stoll(*row.at("wt")), filters, "");
      const auto it = answers.find(id);
      if (it == answers.end()) {
        ADD_FAILURE() << "no answer logged for " << *row.at("segment");
        continue;
      }
      EXPECT_EQ(it->second.status, 200) << *row.at("segment");
      expect_row_equals_answer(row, it->second.body, probe_.name() == "postgresql", id);
      checked += 1;
    }
    return checked;
  }

  // SPEC: the key never appears in what the job printed or in any stored text.
  void expect_no_key_anywhere() {
    EXPECT_FALSE(outputs_.empty()) << "the job printed nothing at all";
    EXPECT_FALSE(contains(outputs_, "e2e_key_")) << outputs_;
    for (const char* table : {"customer_metrics", "etl_runs", "etl_cell_failures"}) {
      if (!probe_.has_table(table)) continue;
      for (const SqlRow& row : probe_.query(std::string("SELECT * FROM ") + table)) {
        for (const auto& [column, value] : row) {
          if (value) {
            EXPECT_FALSE(contains(*value, "e2e_key_")) << table << "." << column << ": " << *value;
          }
        }
      }
    }
  }

  std::string snapshot = kSnapshot;  // what --snapshot says (migrate takes none)
  TempDir dir_;
  Probe probe_;
  std::unique_ptr<MockApiServer> mock_;
  std::string outputs_;
};

// Polls `done` every 20 ms until it holds or `limit` passes; true when it held.
inline bool await(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// SIGKILLs a child that outlives `limit`, so a job that ignores a signal fails the test
// (exit 137) instead of hanging it.
class Watchdog {
 public:
  Watchdog(pid_t pid, std::chrono::seconds limit)
      : thread_([this, pid, limit] {
          std::unique_lock<std::mutex> lock(m_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) ::kill(pid, SIGKILL);
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on: bound, read, closed.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::abort();
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace qetl::test
